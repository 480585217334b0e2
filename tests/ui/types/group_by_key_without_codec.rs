use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        stream::<String, i64>("in")
            |> group_by(|_, v| std::time::Duration::from_millis(*v as u64))
            |> count
            |> to_stream
            |> to("out");
    };
}
