use streams_runtime::prelude::*;

fn main() {
    let b = StreamsBuilder::new();
    let a = b.stream::<String, i64>("a");
    let c = b.stream::<String, String>("c");
    a.merge(c).to("out");
    let _ = b.build();
}
