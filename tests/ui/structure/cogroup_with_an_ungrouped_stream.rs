use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        let clicks = stream::<String, String>("clicks");
        stream::<String, i64>("purchases")
            |> group_by_key
            |> cogroup(|_, amount, spent: i64| spent + amount)
            |> cogroup(clicks, |_, _page, spent| spent - 1)
            |> aggregate(|| 0)
            |> to_stream
            |> to("balance");
    };
}
