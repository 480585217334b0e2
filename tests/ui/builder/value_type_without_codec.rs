use streams_runtime::prelude::*;

fn main() {
    let b = StreamsBuilder::new();
    #[derive(Clone)]
    struct Trade {
        price: f64,
    }
    b.stream::<String, String>("in").map_values(|v| Trade { price: v.len() as f64 }).to("out");
    let _ = b.build();
}
