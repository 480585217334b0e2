use streams_runtime::prelude::*;
use streams_runtime::processor::{Processor, ProcessorContext};

struct Upper;

impl Processor<String, String> for Upper {
    type KOut = String;
    type VOut = String;
    fn process(&mut self, ctx: &mut ProcessorContext<'_, String, String>, record: Record<String, String>) {
        let value = record.value.to_uppercase();
        let key = record.key.clone();
        ctx.forward(record.with(key, value));
    }
}

fn main() {
    let _ = topology! {
        stream::<String, String>("in") |> process(|| Upper, stores = ["seen"]) |> to("out");
    };
}
