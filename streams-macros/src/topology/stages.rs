//! Every stage the macro knows: its arguments, options, the shape of stream it takes and the
//! shape it gives, and the builder method it expands into. One table, read by check and
//! expand alike.

/// What a pipeline holds at a point.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Shape {
    /// A `KStream`.
    Stream,
    /// A `KGroupedStream` (after `group_by_key` / `group_by`).
    Grouped,
    /// A `KTable`.
    Table,
    /// A `KGroupedTable` (after `group_by` on a table).
    GroupedTable,
    /// A grouped stream cut into time windows.
    Windowed,
    /// A grouped stream cut into sliding windows.
    SlidingWindowed,
    /// A grouped stream cut into sessions.
    SessionWindowed,
    /// Grouped streams aggregated together (after `cogroup`).
    Cogrouped,
    /// A `GlobalKTable`.
    GlobalTable,
    /// Nothing: the pipeline ended (`to`, `foreach`, `split`).
    Ended,
}

impl Shape {
    /// How messages call it.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Shape::Stream => "a stream",
            Shape::Grouped => "a grouped stream",
            Shape::Table => "a table",
            Shape::GroupedTable => "a grouped table",
            Shape::Windowed => "a windowed stream",
            Shape::SlidingWindowed => "a stream in sliding windows",
            Shape::SessionWindowed => "a stream in sessions",
            Shape::Cogrouped => "a cogrouped stream",
            Shape::GlobalTable => "a global table",
            Shape::Ended => "nothing (the pipeline has ended)",
        }
    }

    /// How messages call a bound name of this shape.
    pub(crate) fn noun(self) -> &'static str {
        match self {
            Shape::Table => "table",
            Shape::GlobalTable => "global table",
            Shape::Grouped => "grouped stream",
            Shape::Cogrouped => "cogrouped stream",
            Shape::GroupedTable => "grouped table",
            Shape::Windowed | Shape::SlidingWindowed | Shape::SessionWindowed => "windowed stream",
            _ => "stream",
        }
    }
}

/// What a positional argument must be.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum ArgKind {
    /// A closure or function path; the text says its signature.
    Fn(&'static str),
    /// A topic name (`&str`).
    Topic,
    /// The name of a stream bound in this topology.
    Stream,
    /// The name of a grouped stream bound in this topology.
    GroupedStream,
    /// A duration literal (`5s`) or an expression of type `Duration`.
    Duration,
    /// A list of stores: `[Stores::key_value::<K, V>("name"), ...]`.
    Stores,
    /// A positive count of the things named (`partitions = 3`): an integer literal or an
    /// expression of the builder's type.
    Count(&'static str),
}

impl ArgKind {
    pub(crate) fn describe(self) -> String {
        match self {
            ArgKind::Fn(sig) => sig.to_string(),
            ArgKind::Topic => "a topic name".into(),
            ArgKind::Stream => "the name of a stream".into(),
            ArgKind::GroupedStream => "the name of a grouped stream".into(),
            ArgKind::Duration => "a duration such as `5s`".into(),
            ArgKind::Stores => {
                "a list of stores such as `[Stores::key_value::<String, i64>(\"seen\")]`".into()
            }
            ArgKind::Count(what) => format!("a number of {what} such as `3`"),
        }
    }
}

/// How a stage is checked and expanded beyond `receiver.method(args)`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Form {
    /// `.method(args)` (with `::<...>` if given).
    Call,
    /// `.method(supplier, &[stores])`: the `stores = [..]` option as a slice of store specs.
    WithStores,
    /// `.method(Repartitioned::new().with_number_of_partitions(n))`.
    Repartition,
    /// `.method(Suppressed::until_time_limit(d, BufferConfig))`.
    Suppress,
    /// `.method(windows)`: the arguments and `grace` make the windows of that kind.
    Windows(WindowKind),
    /// A join: the method depends on what is joined (resolved by `check`).
    Join,
    /// `split(NAME = predicate, default = NAME)`: binds its branches.
    Split,
}

/// The windows a windowing stage makes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum WindowKind {
    /// `TimeWindows::of(size).advance_by(advance)`.
    Time,
    /// `SlidingWindows::with_difference(difference)`.
    Sliding,
    /// `SessionWindows::with_inactivity_gap(gap)`.
    Session,
}

/// One stage.
pub(crate) struct StageSpec {
    pub(crate) name: &'static str,
    /// Shapes it accepts.
    pub(crate) inputs: &'static [Shape],
    /// Shape it gives.
    pub(crate) output: Shape,
    /// Positional arguments.
    pub(crate) args: &'static [ArgKind],
    /// Other arguments for some input shapes (a grouped table's `reduce` also takes a
    /// subtractor).
    pub(crate) args_for: &'static [(Shape, &'static [ArgKind])],
    /// Allowed `name = value` options besides `name` (which every stage takes).
    pub(crate) options: &'static [(&'static str, ArgKind)],
    /// Whether `::<...>` is allowed.
    pub(crate) generics: bool,
    /// The builder method.
    pub(crate) method: &'static str,
    /// The builder method when `::<...>` is given (`to::<K, V>` is `to_with`).
    pub(crate) generic_method: Option<&'static str>,
    /// How it is checked and expanded.
    pub(crate) form: Form,
    /// How many trailing arguments may be left out (a tumbling `window` has no advance).
    pub(crate) optional_args: usize,
    /// What its positional arguments are called, for a user who writes one as an option
    /// (`window(5s, advance = 1s)`).
    pub(crate) arg_names: &'static [&'static str],
    /// The shape it gives after a table, if not `output` (filters keep tables tables).
    pub(crate) on_table: Option<Shape>,
}

use ArgKind::{Duration, Fn, Stream, Topic};
use Shape::{
    Cogrouped, Ended, Grouped, GroupedTable, SessionWindowed, SlidingWindowed, Stream as S, Table, Windowed,
};

const GRACE: &[(&str, ArgKind)] = &[("grace", Duration)];
const AGGREGATED: &[Shape] = &[Grouped, GroupedTable, Windowed, SlidingWindowed, SessionWindowed];
/// What `aggregate` takes: the aggregated shapes and cogrouped streams.
const AGGREGATED_OR_COGROUPED: &[Shape] =
    &[Grouped, GroupedTable, Windowed, SlidingWindowed, SessionWindowed, Cogrouped];

const PREDICATE: ArgKind = Fn("a predicate `|key, value| -> bool`");
const ADDER: ArgKind = Fn("an adder `|key, value, aggregate| -> aggregate`");
const SUBTRACTOR: ArgKind = Fn("a subtractor `|key, old_value, aggregate| -> aggregate`");

const fn stage(
    name: &'static str,
    inputs: &'static [Shape],
    output: Shape,
    args: &'static [ArgKind],
    method: &'static str,
) -> StageSpec {
    StageSpec {
        name,
        inputs,
        output,
        args,
        args_for: &[],
        options: &[],
        generics: false,
        method,
        generic_method: None,
        form: Form::Call,
        optional_args: 0,
        arg_names: &[],
        on_table: None,
    }
}

/// The stages, in the order the docs list them.
pub(crate) const STAGES: &[StageSpec] = &[
    StageSpec { on_table: Some(Table), ..stage("filter", &[S, Table], S, &[PREDICATE], "filter") },
    StageSpec { on_table: Some(Table), ..stage("filter_not", &[S, Table], S, &[PREDICATE], "filter_not") },
    stage("map", &[S], S, &[Fn("a function `|key, value| -> (new_key, new_value)`")], "map"),
    StageSpec {
        on_table: Some(Table),
        ..stage("map_values", &[S, Table], S, &[Fn("a function `|value| -> new_value`")], "map_values")
    },
    stage("flat_map", &[S], S, &[Fn("a function `|key, value| -> iterator of (key, value)`")], "flat_map"),
    stage("flat_map_values", &[S], S, &[Fn("a function `|value| -> iterator of values`")], "flat_map_values"),
    stage("select_key", &[S], S, &[Fn("a function `|key, value| -> new_key`")], "select_key"),
    stage("peek", &[S], S, &[Fn("a function `|key, value|`")], "peek"),
    stage("foreach", &[S], Ended, &[Fn("a function `|key, value|`")], "foreach"),
    stage("merge", &[S], S, &[Stream], "merge"),
    StageSpec {
        options: &[("stores", ArgKind::Stores)],
        form: Form::WithStores,
        ..stage(
            "process",
            &[S],
            S,
            &[Fn("a processor supplier `|| -> P` with `P: Processor` (such as `Dedupe::new`)")],
            "process_with_stores",
        )
    },
    StageSpec {
        options: &[("stores", ArgKind::Stores)],
        form: Form::WithStores,
        ..stage(
            "process_values",
            &[S],
            S,
            &[Fn("a processor supplier `|| -> P` with `P: FixedKeyProcessor` (such as `Enrich::new`)")],
            "process_values_with_stores",
        )
    },
    StageSpec {
        options: &[("stores", ArgKind::Stores)],
        form: Form::WithStores,
        ..stage(
            "transform_values",
            &[Table],
            Table,
            &[Fn("a transformer supplier `|| -> T` with `T: ValueTransformerWithKey` (such as `Tagging::default`)")],
            "transform_values_with_stores",
        )
    },
    StageSpec { generics: true, generic_method: Some("to_with"), ..stage("to", &[S], Ended, &[Topic], "to") },
    stage("to_dynamic", &[S], Ended, &[Fn("a function `|key, value| -> topic name`")], "to_dynamic"),
    StageSpec { form: Form::Split, ..stage("split", &[S], Ended, &[], "split") },
    stage("group_by_key", &[S], Grouped, &[], "group_by_key"),
    StageSpec {
        args_for: &[(Table, &[Fn("a function `|key, value| -> (new_key, new_value)`")])],
        on_table: Some(GroupedTable),
        ..stage("group_by", &[S, Table], Grouped, &[Fn("a function `|key, value| -> new_key`")], "group_by")
    },
    StageSpec {
        options: GRACE,
        form: Form::Windows(WindowKind::Time),
        optional_args: 1,
        arg_names: &["size", "advance"],
        ..stage("window", &[Grouped], Windowed, &[Duration, Duration], "window")
    },
    StageSpec {
        options: GRACE,
        form: Form::Windows(WindowKind::Sliding),
        arg_names: &["difference"],
        ..stage("sliding", &[Grouped], SlidingWindowed, &[Duration], "sliding")
    },
    StageSpec {
        options: GRACE,
        form: Form::Windows(WindowKind::Session),
        arg_names: &["gap"],
        ..stage("session", &[Grouped], SessionWindowed, &[Duration], "session")
    },
    stage("emit_on_close", &[Windowed], Windowed, &[], "emit_on_close"),
    stage("pre_aggregated", &[Grouped], Grouped, &[], "pre_aggregated"),
    StageSpec {
        options: &[("max_records", ArgKind::Count("records"))],
        form: Form::Suppress,
        ..stage("suppress", &[Table], Table, &[Duration], "suppress")
    },
    stage("suppress_until_close", &[Windowed], Windowed, &[], "suppress_until_close"),
    stage("count", AGGREGATED, Table, &[], "count"),
    StageSpec {
        args_for: &[(
            GroupedTable,
            &[
                Fn("an adder `|aggregate, value| -> aggregate`"),
                Fn("a subtractor `|aggregate, old_value| -> aggregate`"),
            ],
        )],
        ..stage("reduce", AGGREGATED, Table, &[Fn("a function `|aggregate, value| -> aggregate`")], "reduce")
    },
    StageSpec {
        args_for: &[
            (GroupedTable, &[Fn("an initializer `|| -> aggregate`"), ADDER, SUBTRACTOR]),
            (
                SessionWindowed,
                &[
                    Fn("an initializer `|| -> aggregate`"),
                    ADDER,
                    Fn("a merger `|key, left, right| -> aggregate`"),
                ],
            ),
            (Cogrouped, &[Fn("an initializer `|| -> aggregate`")]),
        ],
        ..stage(
            "aggregate",
            AGGREGATED_OR_COGROUPED,
            Table,
            &[Fn("an initializer `|| -> aggregate`"), ADDER],
            "aggregate",
        )
    },
    // `aggregate` with a merger of partial aggregates, for `pre_aggregated`.
    stage(
        "aggregate_merging",
        &[Grouped],
        Table,
        &[Fn("an initializer `|| -> aggregate`"), ADDER, Fn("a merger `|key, aggregate, partial| -> aggregate`")],
        "aggregate_merging",
    ),
    StageSpec {
        args_for: &[(Cogrouped, &[ArgKind::GroupedStream, ADDER])],
        ..stage("cogroup", &[Grouped, Cogrouped], Cogrouped, &[ADDER], "cogroup")
    },
    stage("to_stream", &[Table], S, &[], "to_stream"),
    // Joins: the arguments depend on what is joined; `check` resolves them (see `joins`).
    StageSpec { form: Form::Join, ..stage("join", &[S, Table], S, &[], "join") },
    StageSpec { form: Form::Join, ..stage("left_join", &[S, Table], S, &[], "left_join") },
    StageSpec { form: Form::Join, ..stage("outer_join", &[S, Table], S, &[], "outer_join") },
    stage("to_table", &[S], Table, &[], "to_table"),
    StageSpec {
        options: &[("partitions", ArgKind::Count("partitions"))],
        form: Form::Repartition,
        ..stage("repartition", &[S], S, &[], "repartition_with")
    },
];

impl StageSpec {
    /// The arguments this stage takes after `shape`.
    pub(crate) fn args_after(&self, shape: Option<Shape>) -> &'static [ArgKind] {
        shape
            .and_then(|sh| self.args_for.iter().find(|(s, _)| *s == sh).map(|(_, a)| *a))
            .unwrap_or(self.args)
    }

    /// The shape this stage gives after `shape` (filters keep tables tables, and so on).
    pub(crate) fn output_after(&self, shape: Option<Shape>) -> Shape {
        match (self.on_table, shape) {
            (Some(on_table), Some(Shape::Table)) => on_table,
            _ => self.output,
        }
    }
}

/// The stage called `name`.
pub(crate) fn lookup(name: &str) -> Option<&'static StageSpec> {
    STAGES.iter().find(|s| s.name == name)
}

/// What to write instead when `spec` meets `shape`.
pub(crate) fn shape_hint(spec: &StageSpec, shape: Shape) -> String {
    let name = spec.name;
    match (spec.inputs, shape) {
        (_, Shape::GlobalTable) => "a global table is only joined from a stream \
             (`stream |> join(global, |key, value| table_key, joiner)`); to use its updates otherwise, \
             read its topic as a `table`"
            .to_string(),
        (_, Shape::Cogrouped) => format!(
            "`{name}` cannot follow `cogroup`; finish the cogroup first with `|> aggregate(|| initial)`"
        ),
        ([Table], Shape::Stream) if spec.output != Shape::Stream => format!(
            "`{name}` works on a table, but this is a stream; make it a table first (`|> to_table`, or \
             group and aggregate it)"
        ),
        ([Grouped], Shape::Stream) if spec.output != Shape::Grouped => format!(
            "`{name}` cuts a grouped stream into windows; add `|> group_by_key` (or `|> group_by(|key, value| ...)`) before it"
        ),
        ([Grouped], Shape::Table) if spec.output != Shape::Grouped => format!(
            "a table has no windows; to window its updates, make them a stream first: \
             `|> to_stream |> group_by_key |> {name}(..)`"
        ),
        ([Grouped], Shape::Windowed | Shape::SlidingWindowed | Shape::SessionWindowed) => {
            format!("the stream is already windowed; remove this `{name}`")
        }
        ([Windowed], Shape::SlidingWindowed | Shape::SessionWindowed) => {
            format!("`{name}` is for time windows (`window(...)`); sliding windows and sessions emit every update")
        }
        ([Windowed], _) => format!("`{name}` follows a `window(...)` stage; add one before it, such as `|> window(5s)`"),
        (inputs, Shape::Stream) if inputs.contains(&Grouped) && inputs.contains(&GroupedTable) => format!(
            "`{name}` aggregates a grouped stream; add `|> group_by_key` (or `|> group_by(|key, value| ...)`) before it"
        ),
        (inputs, Shape::Table) if inputs.contains(&Grouped) && inputs.contains(&GroupedTable) => format!(
            "`{name}` aggregates groups, but this is a table; regroup it first with `|> group_by(|key, value| (new_key, new_value))`"
        ),
        (_, Shape::Grouped | Shape::GroupedTable) if spec.output == Shape::Grouped => {
            format!("the {} is already grouped; remove this `{name}`", if shape == Shape::Grouped { "stream" } else { "table" })
        }
        (_, Shape::Grouped | Shape::GroupedTable) => format!(
            "`{name}` cannot follow a grouping; aggregate first (`count`, `reduce(...)` or `aggregate(...)`)"
        ),
        ([Shape::Stream], Shape::Table) if name == "group_by_key" => "`group_by_key` groups a stream; a table is \
             regrouped with `|> group_by(|key, value| (new_key, new_value))` (Java's `KTable.groupBy`)"
            .to_string(),
        (inputs, Shape::Table) if inputs.contains(&Shape::Stream) && !inputs.contains(&Shape::Table) => format!(
            "`{name}` takes a stream, but here it gets a table; turn the table's updates into a stream \
             first with `|> to_stream`"
        ),
        (inputs, Shape::Windowed | Shape::SlidingWindowed | Shape::SessionWindowed)
            if !inputs.iter().any(|i| matches!(i, Shape::Windowed | Shape::SlidingWindowed | Shape::SessionWindowed)) =>
        {
            format!("`{name}` cannot follow a window; aggregate the windows first (`count`, `reduce(...)` or `aggregate(...)`)")
        }
        ([Table], Shape::Stream) => {
            format!("`{name}` turns a table into a stream, but this is already a stream; remove it")
        }
        (inputs, shape) => format!(
            "`{name}` takes {}, but here it gets {}",
            inputs.iter().map(|s| s.describe()).collect::<Vec<_>>().join(" or "),
            shape.describe()
        ),
    }
}

/// What to write here for a Kafka Streams Java DSL method name: `Some` when `name` is one.
pub(crate) fn java_name_hint(name: &str) -> Option<String> {
    let special = match name {
        "windowedBy" => {
            "write `window(size, advance, grace = ..)` for `TimeWindows`, \
             `sliding(difference, grace = ..)` for `SlidingWindows` or `session(gap, grace = ..)` for \
             `SessionWindows`"
        }
        "branch" => {
            "write `split(name = |key, value| ..., other = |key, value| ..., default = rest)` \
             and use each branch by its name"
        }

        "through" => {
            "it is gone since Kafka 4.0; write `repartition` (or \
             `repartition(partitions = 3, name = \"..\")`)"
        }
        "toStream" | "toTable" | "groupByKey" | "groupBy" | "selectKey" | "mapValues" | "flatMap"
        | "flatMapValues" | "filterNot" | "leftJoin" | "outerJoin" | "emitStrategy" => "",
        "transform" | "flatTransform" => {
            "Kafka's `transform` is gone since 4.0; write `process(Supplier::new)` with a \
             `Processor` (see `streams_runtime::processor`)"
        }
        "transformValues" => {
            "Kafka's `transformValues` is gone since 4.0; write `process_values(Supplier::new)` with a \
             `FixedKeyProcessor` (see `streams_runtime::processor`)"
        }
        _ => {
            return camel_to_snake(name)
                .filter(|snake| lookup(snake).is_some())
                .map(|snake| format!("`{name}` is the Java name; here it is `{snake}`"))
        }
    };
    if special.is_empty() {
        let snake = camel_to_snake(name)?;
        let snake = if name == "emitStrategy" { "emit_on_close".to_string() } else { snake };
        return Some(format!("`{name}` is the Java name; here it is `{snake}`"));
    }
    Some(format!("`{name}` is the Java name; {special}"))
}

/// `selectKey` → `select_key`; `None` if `name` has no upper-case letter.
fn camel_to_snake(name: &str) -> Option<String> {
    if !name.chars().any(|c| c.is_ascii_uppercase()) {
        return None;
    }
    let mut snake = String::with_capacity(name.len() + 4);
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            snake.push('_');
            snake.push(c.to_ascii_lowercase());
        } else {
            snake.push(c);
        }
    }
    Some(snake)
}
