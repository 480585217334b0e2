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
/// topology  := ["#![optimization = \"" RULES "\"]"] statement*
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
/// | grouping | `group_by_key`, `group_by(f)` (on a table: `f -> (key, value)`), then `pre_aggregated` (a re-keyed `count` or `reduce` folds records per task before the repartition topic; not Kafka's) |
/// | windows | `window(size[, advance], grace = d)`, `sliding(difference, grace = d)`, `session(gap, grace = d)`, `emit_on_close`, `suppress_until_close`; no grace unless given (Kafka's deprecated `TimeWindows.of` had 24 h) |
/// | aggregations | `count`, `reduce(f)`, `aggregate(init, add)`; on grouped tables `reduce(add, subtract)`, `aggregate(init, add, subtract)`; on sessions `aggregate(init, add, merge)` |
/// | tables | `filter`, `filter_not`, `map_values`, `to_stream`, `group_by`, `suppress(50ms, max_records = N)` (a time limit), `transform_values(supplier, stores = [..])` |
/// | cogroups | `cogroup(aggregator)` after a grouping, `cogroup(GROUPED, aggregator)` with a bound grouped stream, `aggregate(init)` |
/// | joins | stream–table `join(table, f)`, `left_join(table, f)`; stream–stream `join`/`left_join`/`outer_join(stream, within(1s, before = .., after = .., grace = ..), f)`; table–table `join`/`left_join`/`outer_join(table, f)`; stream–global table `join`/`left_join(global, key_of, f)` |
///
/// Sources: `stream::<K, V>("a", "b")` reads several topics, `stream::<K, V>(pattern = "re")`
/// every matching topic. `table::<K, V>("t", versioned = 10m, store = "name")` keeps each
/// key's values over the last 10 minutes in the versioned store `name` (KIP-889): a stream
/// joining it reads the row valid at each record's time; `suppress` refuses it. `#![optimization = "all"]` first builds the topology with Kafka's
/// `topology.optimization` (`"all"`, `"none"`, or a list of `merge.repartition.topics`,
/// `reuse.ktable.source.topics`, `single.store.self.join`; checked at compile time).
///
/// # Joiners
///
/// What a joiner receives, per join, for `V` the values of this side and `VO` the other's.
/// An `Option` is `None` when there is no partner *by design* (a left or outer join emits the
/// row anyway): handle it, do not `.unwrap()` it — real data has rows without partners.
///
/// | join | joiner |
/// | --- | --- |
/// | stream `join(table, f)` | `f(V, VO)` |
/// | stream `left_join(table, f)` | `f(V, Option<VO>)`: `None` when the table has no row for the key (yet) |
/// | stream `join(stream, within(..), f)` | `f(V, VO)`, once per pair within the window |
/// | stream `left_join(stream, within(..), f)` | `f(V, Option<VO>)`: `None` once the window closed without a partner |
/// | stream `outer_join(stream, within(..), f)` | `f(Option<V>, Option<VO>)`: one side `None` for a record left alone |
/// | table `join(table, f)` | `f(V, VO)` |
/// | table `left_join(table, f)` | `f(V, Option<VO>)` |
/// | table `outer_join(table, f)` | `f(Option<V>, Option<VO>)` |
/// | table `join(table, \|v\| foreign_key, f)` (KIP-213) | `f(V, VO)`; `left_join`: `f(V, Option<VO>)` |
/// | stream `join(global, \|k, v\| table_key, f)` | `f(V, VO)`; `left_join`: `f(V, Option<VO>)` |
///
/// # Join windows
///
/// `within(d)` pairs a record of this stream at time `t` with the other stream's records
/// from `t - d` to `t + d`, both ends included. `before = b` and `after = a` set each end:
/// the other's records from `t - b` to `t + a` (Kafka's `JoinWindows.before`/`after`, which
/// are seen from *this* side: `after = 0s` keeps only partners that came first).
///
/// ```text
/// other:        ·····[==========|==========]·····
///                    t - before t         t + after
/// ```
///
/// `grace = g` keeps the window open for records up to `g` late in stream time; a left or
/// outer join emits a record without a partner once its window and grace have passed.
///
/// # Windowed output
///
/// A windowed aggregation's table has `Windowed<K>` keys (window start and end). Its stream
/// is written with a windowed key codec, chosen for you by `to("topic")`:
/// `TimeWindowed<K>` (Kafka's `TimeWindowedSerde`: key bytes then the start) or
/// `SessionWindowed<K>` (key, end, start). To read it back (a `TestDriver`, another
/// topology), name the window size as Kafka's deserializer needs it:
/// `driver.output::<TimeWindowedOf<String, 5000>, i64>("counts")`.
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
