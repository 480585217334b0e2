//! What `topology!` costs: parse + check + expand of a 200-stage topology, run outside the
//! compiler through `proc-macro2`. `cargo bench -p streams-macros --bench phases`
#![allow(missing_docs, unreachable_pub, dead_code, unused_imports)]

use criterion::{criterion_group, criterion_main, Criterion};
use proc_macro2::TokenStream;

#[path = "../src/topology/mod.rs"]
mod topology;

/// 40 pipelines of 5 stages: 200 stages, every kind of argument.
pub fn source(pipelines: usize) -> String {
    let mut src = String::new();
    for i in 0..pipelines {
        src.push_str(&format!(
            "let s{i} = stream::<String, i64>(\"in-{i}\");\n\
             s{i} |> filter(|_, v| *v > {i}) |> map_values(|v| v * 2, name = \"double-{i}\")\n\
                  |> select_key(|k, _| k.clone()) |> peek(|_, _| ()) |> to(\"out-{i}\");\n"
        ));
    }
    src
}

fn bench(c: &mut Criterion) {
    let tokens: TokenStream = source(40).parse().unwrap();
    let out = topology::topology(tokens.clone()).to_string();
    assert!(!out.contains("compile_error"), "the benchmark input must be valid");
    c.bench_function("parse_check_expand_200_stages", |b| b.iter(|| topology::topology(tokens.clone())));
}

criterion_group!(benches, bench);
criterion_main!(benches);
