//! Procedural macros of `streams-runtime`: `topology!` and `#[derive(Json)]`.
//!
//! `topology!` runs in three phases, each in its own file under `topology/`: `parse.rs`
//! (syntax only), `check.rs` (whole-topology rules, every error at once) and `expand.rs`
//! (calls of the typed builder, spanned at the user's stages).

use proc_macro::TokenStream;
use quote::quote;
use syn::{parse_macro_input, DeriveInput};

mod topology;

/// Declares a Kafka Streams topology; evaluates to the built `Topology`.
///
/// # Grammar
///
/// ```text
/// topology  := statement*
/// statement := "let" NAME "=" pipeline ";"      binds a stream or table, used later by name
///            | pipeline ";"                      must end in a sink (or a split)
/// pipeline  := head ("|>" stage)*
/// head      := SOURCE "::<" KeyCodec "," ValueCodec ">" "(" topic ("," topic)* options ")"
///            | NAME
/// SOURCE    := "stream" | "table" | "global_table"
/// stage     := NAME ["::<" types ">"] ["(" arg ("," arg)* ")"]
/// arg       := rust-expression | duration | NAME "=" arg
/// duration  := INTEGER ("ms" | "s" | "m" | "h")  e.g. 250ms, 5s, 1m, 1h
/// ```
///
/// Codecs name the wire format (`String`, `i64`, `()`, `Bytes`, `Json<T>`, `Option<C>`);
/// closures see the plain values. Every stage takes `name = "..."` to name its node (on an
/// aggregation: its store).
///
/// | on | stages |
/// | --- | --- |
/// | streams | `filter(pred)`, `filter_not(pred)`, `map(f)`, `map_values(f)`, `flat_map(f)`, `flat_map_values(f)`, `select_key(f)`, `peek(f)`, `merge(NAME)`, `split(NAME = pred, ..., default = NAME)` (binds each branch), `to_table`, `repartition` / `repartition(partitions = 3, name = "..")`, `process(supplier, stores = [Stores::key_value::<K, V>("name")])`, `process_values(supplier, stores = [..])` (the Processor API) |
/// | sinks | `to("topic")`, `to::<KeyCodec, ValueCodec>("topic")`, `to_dynamic(f)`, `foreach(f)` |
/// | grouping | `group_by_key`, `group_by(f)` (on a table: `f -> (key, value)`) |
/// | windows | `window(size[, advance], grace = d)`, `sliding(difference, grace = d)`, `session(gap, grace = d)`, `emit_on_close`, `suppress_until_close`; no grace unless given (Kafka's deprecated `TimeWindows.of` had 24 h) |
/// | aggregations | `count`, `reduce(f)`, `aggregate(init, add)`; on grouped tables `reduce(add, subtract)`, `aggregate(init, add, subtract)`; on sessions `aggregate(init, add, merge)` |
/// | tables | `filter`, `filter_not`, `map_values`, `to_stream`, `group_by`, `suppress(50ms, max_records = N)` (a time limit), `transform_values(supplier, stores = [..])` |
/// | cogroups | `cogroup(aggregator)` after a grouping, `cogroup(GROUPED, aggregator)` with a bound grouped stream, `aggregate(init)` |
/// | joins | stream–table `join(table, f)`, `left_join(table, f)`; stream–stream `join`/`left_join`/`outer_join(stream, within(1s, before = .., after = .., grace = ..), f)`; table–table `join`/`left_join`/`outer_join(table, f)`; stream–global table `join`/`left_join(global, key_of, f)` |
///
/// Sources: `stream::<K, V>("a", "b")` reads several topics, `stream::<K, V>(pattern = "re")`
/// every matching topic.
///
/// Mistakes are compile errors at the stage you wrote: unknown stages (with a suggestion),
/// wrong argument counts, names used but never bound or bound but never used, pipelines
/// without a sink, stages in the wrong order (an aggregation before a grouping, a window
/// twice, a stream-stream join without a window, a table joined to a stream), and (through
/// rustc) closures of the wrong types, values without a codec, codecs that do not match.
///
/// # Example
///
/// ```
/// use streams_runtime::prelude::*;
///
/// let topology = topology! {
///     let readings = stream::<String, i64>("readings");
///     readings
///         |> filter(|_, celsius| *celsius > -273)
///         |> split(hot = |_, c| *c >= 40, default = normal);
///     hot |> map_values(|c| format!("{c} °C: too hot")) |> to("alerts");
///     normal |> to("normal");
/// };
///
/// let driver = TestDriver::new(topology);
/// let input = driver.input::<String, i64>("readings");
/// input.pipe("oven".to_string(), 180, 1_000);
/// input.pipe("room".to_string(), 21, 2_000);
/// assert_eq!(
///     driver.output::<String, String>("alerts").read_all(),
///     vec![("oven".to_string(), "180 °C: too hot".to_string(), 1_000)]
/// );
/// assert_eq!(driver.output::<String, i64>("normal").read_key_values(), vec![("room".to_string(), 21)]);
/// ```
#[proc_macro]
pub fn topology(input: TokenStream) -> TokenStream {
    topology::topology(input.into()).into()
}

/// Gives a serde type the default codec `Json<Self>`, so that `to(topic)` can write it.
///
/// ```
/// use streams_runtime::{DefaultCodec, Json};
///
/// #[derive(Clone, serde::Serialize, serde::Deserialize, Json)]
/// struct Trade { ticker: String, price: f64 }
///
/// fn codec_of<T: DefaultCodec>() -> String { <T::Codec as streams_runtime::Codec>::name() }
/// assert_eq!(codec_of::<Trade>(), "Json<Trade>");
/// ```
#[proc_macro_derive(Json)]
pub fn derive_json(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    let name = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    quote! {
        impl #impl_generics ::streams_runtime::DefaultCodec for #name #ty_generics #where_clause {
            type Codec = ::streams_runtime::Json<Self>;
        }
    }
    .into()
}
