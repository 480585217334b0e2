use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        #![optimize = "all"]
        stream::<String, i64>("in") |> to("out");
    };
}
