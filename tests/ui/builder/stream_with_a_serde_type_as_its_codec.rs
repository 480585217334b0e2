use streams_runtime::prelude::*;

fn main() {
    let b = StreamsBuilder::new();
    #[derive(Clone, serde::Serialize, serde::Deserialize)]
    struct Trade {
        price: f64,
    }
    b.stream::<String, Trade>("in").to("out");
    let _ = b.build();
}
