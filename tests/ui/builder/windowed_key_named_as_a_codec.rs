use streams_runtime::prelude::*;

fn main() {
    let b = StreamsBuilder::new();
    b.stream::<String, i64>("in")
        .group_by_key()
        .window(TimeWindows::of(std::time::Duration::from_secs(5)))
        .count()
        .to_stream()
        .to_with::<Windowed<String>, i64>("out");
    let _ = b.build();
}
