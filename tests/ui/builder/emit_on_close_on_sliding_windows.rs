use streams_runtime::prelude::*;

fn main() {
    let b = StreamsBuilder::new();
    b.stream::<String, i64>("in")
        .group_by_key()
        .sliding(SlidingWindows::with_difference(std::time::Duration::from_secs(5)))
        .emit_on_close()
        .count();
    let _ = b.build();
}
