use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {};
}
