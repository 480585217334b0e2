//! `topology!`'s phases (parse → check → expand) over generated and mutated topologies, in
//! process: none may panic or take long, and every expansion is a well-formed expression.
//! Bounded in time for CI; `FUZZ_SECONDS=600 cargo test -p streams-macros --test fuzz` runs
//! longer, `FUZZ_SEED=n` replays one run.
#![allow(missing_docs, unreachable_pub, dead_code, unused_imports)]

use std::time::{Duration, Instant};

use proc_macro2::TokenStream;

#[path = "../src/topology/mod.rs"]
mod topology;

/// xorshift64*: small, deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const STAGES: &[&str] = &[
    "filter",
    "filter_not",
    "map",
    "map_values",
    "flat_map",
    "flat_map_values",
    "select_key",
    "peek",
    "foreach",
    "merge",
    "process",
    "process_values",
    "transform_values",
    "to",
    "to_dynamic",
    "split",
    "group_by_key",
    "group_by",
    "window",
    "sliding",
    "session",
    "emit_on_close",
    "suppress",
    "suppress_until_close",
    "count",
    "reduce",
    "aggregate",
    "cogroup",
    "to_stream",
    "join",
    "left_join",
    "outer_join",
    "to_table",
    "repartition",
    "selectKey",
    "windowedBy",
    "nmae",
    "",
];

const ARGS: &[&str] = &[
    "|k, v| v.clone()",
    "|v| v",
    "|_, v| *v > 0",
    "|| 0",
    "|k, v, a| a + v",
    "5s",
    "1s",
    "250ms",
    "0s",
    "5 s",
    "\"out\"",
    "s0",
    "s1",
    "within(1s)",
    "within(1s, grace = 2s)",
    "Dedupe::new",
    "[Stores::key_value::<String, i64>(\"seen\")]",
    "name = \"n\"",
    "grace = 1s",
    "partitions = 3",
    "max_records = 2",
    "default = rest",
    "hot = |_, v| *v > 9",
    "Duration.ofSeconds(5)",
    "42",
    "v -> v",
];

const HEADS: &[&str] = &[
    "stream::<String, i64>(\"in\")",
    "table::<String, String>(\"t\")",
    "global_table::<String, String>(\"g\")",
    "stream::<String, i64>(\"a\", \"b\")",
    "stream::<String, i64>(pattern = \"in-.*\")",
    "s0",
    "s1",
    "rest",
];

/// A topology of up to four statements of up to six stages, mostly plausible.
fn generate(rng: &mut Rng) -> String {
    let mut out = String::new();
    if rng.below(8) == 0 {
        out.push_str("#![optimization = \"all\"]\n");
    }
    for s in 0..=rng.below(4) {
        if rng.below(2) == 0 {
            out.push_str(&format!("let s{s} = "));
        }
        out.push_str(rng.pick(HEADS));
        for _ in 0..rng.below(7) {
            out.push_str(" |> ");
            out.push_str(rng.pick(STAGES));
            if rng.below(5) != 0 {
                let n = rng.below(4);
                let args: Vec<&str> = (0..n).map(|_| rng.pick(ARGS)).collect();
                out.push_str(&format!("({})", args.join(", ")));
            }
        }
        out.push_str(";\n");
    }
    out
}

const NOISE: &[&str] =
    &["|>", ";", ",", "=", "::<", ">", "(", ")", "[", "]", "let", "_", "1", "\"", "'a", "#", "!"];

/// The text with a few random edits: characters deleted, noise inserted, spans repeated.
fn mutate(rng: &mut Rng, text: &str) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for _ in 0..=rng.below(3) {
        if chars.is_empty() {
            break;
        }
        let at = rng.below(chars.len());
        match rng.below(3) {
            0 => {
                let end = (at + 1 + rng.below(8)).min(chars.len());
                chars.drain(at..end);
            }
            1 => {
                let noise: Vec<char> = rng.pick(NOISE).chars().collect();
                chars.splice(at..at, noise);
            }
            _ => {
                let end = (at + 1 + rng.below(12)).min(chars.len());
                let span: Vec<char> = chars[at..end].to_vec();
                chars.splice(at..at, span);
            }
        }
    }
    chars.into_iter().collect()
}

/// The input as a failure shows it: at most 400 characters of it.
fn shown(source: &str) -> String {
    match source.char_indices().nth(400) {
        Some((at, _)) => format!("{}… ({} characters)", &source[..at], source.len()),
        None => source.to_string(),
    }
}

/// Runs the phases on `source`; fails the test with the input on a panic, a slow run or an
/// expansion that is not an expression.
fn run(source: &str) -> Duration {
    let Ok(tokens) = source.parse::<TokenStream>() else {
        return Duration::ZERO; // unbalanced: rustc refuses it before the macro runs
    };
    let started = Instant::now();
    let out = std::panic::catch_unwind(|| topology::topology(tokens))
        .unwrap_or_else(|_| panic!("the macro panicked on:\n{}", shown(source)));
    let took = started.elapsed();
    assert!(took < Duration::from_secs(2), "the macro took {took:?} on:\n{}", shown(source));
    if let Err(e) = syn::parse2::<syn::Expr>(out.clone()) {
        panic!(
            "the expansion is not an expression ({e}) for:\n{}\n---\n{}",
            shown(source),
            shown(&out.to_string())
        );
    }
    took
}

#[test]
fn generated_and_mutated_topologies_never_panic_hang_or_expand_to_garbage() {
    let seconds: u64 = std::env::var("FUZZ_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(8);
    let seed: u64 = std::env::var("FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64)
            | 1
    });
    eprintln!("fuzz seed {seed} (FUZZ_SEED={seed} replays it)");
    let mut rng = Rng(seed);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let (mut cases, mut slowest) = (0u64, Duration::ZERO);
    while Instant::now() < deadline {
        let generated = generate(&mut rng);
        let source = if rng.below(3) == 0 { generated } else { mutate(&mut rng, &generated) };
        slowest = slowest.max(run(&source));
        cases += 1;
    }
    eprintln!("{cases} topologies in {seconds} s, slowest {slowest:?}");
    assert!(cases > 100, "too few cases ran: {cases}");
}

#[test]
fn absurd_inputs_are_refused_quickly() {
    // A stage name of 100,000 letters: no quadratic "did you mean".
    let long = "x".repeat(100_000);
    run(&format!("stream::<String, i64>(\"in\") |> {long} |> to(\"out\");"));
    run(&format!("stream::<String, i64>(\"in\") |> to(\"out\", {long} = 1);"));
    // Arguments and types nested thousands deep: an error, not a stack overflow.
    let deep = format!("{}1{}", "(".repeat(5_000), ")".repeat(5_000));
    let source = format!("stream::<String, i64>(\"in\") |> map_values(|v| {deep}) |> to(\"out\");");
    run(&source);
    let out = topology::topology(source.parse().unwrap()).to_string();
    assert!(out.contains("nested more than 128 levels deep"), "{}", shown(&out));
    let deep_type = format!("{}String{}", "Option<".repeat(5_000), ">".repeat(5_000));
    run(&format!("stream::<{deep_type}, i64>(\"in\") |> to(\"out\");"));
    // Hundreds of unknown names at once.
    let many: Vec<String> = (0..500).map(|i| format!("|> unknown_stage_{i}")).collect();
    run(&format!("stream::<String, i64>(\"in\") {} |> to(\"out\");", many.join(" ")));
}
