// The reference side of the differential test (tests/differential): runs each named topology on
// Kafka Streams' own TopologyTestDriver over a JSON-lines input and writes what came out.
//
//   java -cp 'target/lib/*' Differential.java DIR
//
// reads every DIR/<case>@<seed>.in.jsonl, one record a line:
//   {"topic":"in","key":"k1"|null,"value":12|"x3"|null,"timestamp":1000}
// (a JSON number is written as a Long, 8 bytes big-endian; a string as UTF-8; null stays null),
// or {"advance":1200}: the driver's wall clock moves 1.2 s (advanceWallClockTime)
// and writes DIR/<case>@<seed>.out.jsonl, one output record a line, in emission order:
//   {"in":7,"topic":"out","key":"6b31...","value":"0000...","timestamp":1000}
// where "in" is the input line after which the record came out and key/value are the bytes in
// hex (null stays null), so the comparison is byte for byte. Topics other than the inputs and
// the changelogs are outputs (repartition topics included, so their byte layout is compared
// too); after each input they are read in the order of their names.
//
// Each case's describe() text goes to DIR/<case>.describe.txt, and DIR/<case>@<seed>.metrics.json
// holds the run's `dropped-records-total` (summed over tasks) and the nodes with a
// `record-e2e-latency` sensor.
//
// Settings: record cache 0 (every update is emitted), or Kafka's default of 10 MiB for the
// inputs named <case>@cached-<seed> (the driver commits after every record, so the cache
// coalesces the updates that one record makes); windowed aggregations with
// emitStrategy(onWindowClose) and left/outer stream-stream joins look for closed windows on
// every record (Kafka throttles those checks by wall clock, every 1 s by default, and the
// driver's clock does not move). The Rust twins of these
// topologies are in tests/differential/cases.rs, under the same names.
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import java.util.TreeSet;
import java.util.function.Supplier;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.EmitStrategy;
import org.apache.kafka.streams.kstream.GlobalKTable;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.JoinWindows;
import org.apache.kafka.streams.kstream.Joined;
import org.apache.kafka.streams.kstream.KGroupedStream;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.KTable;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.Repartitioned;
import org.apache.kafka.streams.kstream.SessionWindows;
import org.apache.kafka.streams.kstream.SlidingWindows;
import org.apache.kafka.streams.kstream.StreamJoined;
import org.apache.kafka.streams.kstream.TableJoined;
import org.apache.kafka.streams.kstream.Suppressed;
import org.apache.kafka.streams.kstream.ValueTransformerWithKey;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.apache.kafka.streams.kstream.WindowedSerdes;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.FixedKeyProcessor;
import org.apache.kafka.streams.processor.api.FixedKeyProcessorContext;
import org.apache.kafka.streams.processor.api.FixedKeyRecord;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;
import org.apache.kafka.streams.test.TestRecord;

public class Differential {
    static final Serde<String> S = Serdes.String();
    static final Serde<Long> L = Serdes.Long();
    static final String APPLICATION_ID = "diff";

    static Duration ms(long n) {
        return Duration.ofMillis(n);
    }

    /** A left value's foreign key: `x<n>` names `k<n % 7>` (`k6` has no right row), none when n % 8 == 7. */
    static String fk(String v) {
        int n = Integer.parseInt(v.substring(1));
        return n % 8 == 7 ? null : "k" + (n % 7);
    }

    static String show(Object o) {
        return o == null ? "null" : o.toString();
    }

    // ---- the cases -------------------------------------------------------------------------

    static final Map<String, Supplier<Topology>> CASES = new LinkedHashMap<>();

    static void add(String name, Supplier<Topology> topology) {
        CASES.put(name, topology);
    }

    static KGroupedStream<String, Long> grouped(StreamsBuilder b) {
        return b.stream("in", Consumed.with(S, L)).groupByKey(Grouped.with(S, L));
    }

    static Topology build(java.util.function.Consumer<StreamsBuilder> f) {
        StreamsBuilder b = new StreamsBuilder();
        f.accept(b);
        return b.build();
    }

    // Built as `builder.build(props)` with topology.optimization=all: the passes of
    // InternalStreamsBuilder.optimizeTopology (merged repartitions, tables restored from their
    // source topics; no case has a self-join).
    static Topology optimized(java.util.function.Consumer<StreamsBuilder> f) {
        StreamsBuilder b = new StreamsBuilder();
        f.accept(b);
        Properties props = new Properties();
        props.put(StreamsConfig.TOPOLOGY_OPTIMIZATION_CONFIG, StreamsConfig.OPTIMIZE);
        return b.build(props);
    }

    static final Serde<org.apache.kafka.streams.kstream.Windowed<String>> SESSION =
        WindowedSerdes.sessionWindowedSerdeFrom(String.class);

    static Serde<org.apache.kafka.streams.kstream.Windowed<String>> timeWindowed(long size) {
        return WindowedSerdes.timeWindowedSerdeFrom(String.class, size);
    }

    // The Processor API: forwards a key's value when it changed, as the change since the last
    // one; a negative value also deletes the key. Every 100 ms of stream time it forwards the
    // sum of the values it holds under the key "sum", stamped with the punctuation's time.
    static class LastValue implements Processor<String, Long, String, Long> {
        KeyValueStore<String, Long> last;
        ProcessorContext<String, Long> context;

        @Override
        public void init(ProcessorContext<String, Long> context) {
            this.context = context;
            last = context.getStateStore("last");
            context.schedule(ms(100), PunctuationType.STREAM_TIME, now -> {
                long sum = 0;
                try (KeyValueIterator<String, Long> all = last.all()) {
                    while (all.hasNext()) sum += all.next().value;
                }
                context.forward(new Record<>("sum", sum, now));
            });
        }

        @Override
        public void process(Record<String, Long> record) {
            if (record.key() == null || record.value() == null) return;
            Long old = last.get(record.key());
            if (old == null || !old.equals(record.value())) {
                last.put(record.key(), record.value());
                context.forward(record.withValue(record.value() - (old == null ? 0 : old)));
            }
            if (record.value() < 0) last.delete(record.key());
        }
    }

    // The Processor API by wall clock: counts each key's records in a store and, every second
    // of wall-clock time, forwards under the key "total" how many records it counted, stamped
    // with the wall clock; cancels that after five punctuations.
    static class WallClockTotal implements Processor<String, Long, String, Long> {
        KeyValueStore<String, Long> counts;
        int punctuations;

        @Override
        public void init(ProcessorContext<String, Long> context) {
            counts = context.getStateStore("counts");
            org.apache.kafka.streams.processor.Cancellable[] self = new org.apache.kafka.streams.processor.Cancellable[1];
            self[0] = context.schedule(ms(1000), PunctuationType.WALL_CLOCK_TIME, now -> {
                long total = 0;
                try (KeyValueIterator<String, Long> all = counts.all()) {
                    while (all.hasNext()) total += all.next().value;
                }
                context.forward(new Record<>("total", total, now));
                if (++punctuations == 5) self[0].cancel();
            });
        }

        @Override
        public void process(Record<String, Long> record) {
            if (record.key() == null) return;
            Long n = counts.get(record.key());
            counts.put(record.key(), n == null ? 1 : n + 1);
        }
    }

    // The Processor API with a window store (100 ms windows kept 300 ms): adds each value to
    // its key's window (a 0 deletes the window), and forwards the sum over the key's last three
    // windows. Records too late for the retention are dropped by the store.
    static class WindowSums implements Processor<String, Long, String, Long> {
        org.apache.kafka.streams.state.WindowStore<String, Long> sums;
        ProcessorContext<String, Long> context;

        @Override
        public void init(ProcessorContext<String, Long> context) {
            this.context = context;
            sums = context.getStateStore("sums");
        }

        @Override
        public void process(Record<String, Long> record) {
            if (record.key() == null || record.value() == null) return;
            long start = record.timestamp() - record.timestamp() % 100;
            if (record.value() == 0) {
                sums.put(record.key(), null, start);
            } else {
                Long current = sums.fetch(record.key(), start);
                sums.put(record.key(), (current == null ? 0 : current) + record.value(), start);
            }
            long total = 0;
            try (var it = sums.fetch(record.key(), start - 200, start)) {
                while (it.hasNext()) total += it.next().value;
            }
            context.forward(record.withValue(total));
        }
    }

    // The Processor API re-keying: a key from the value's remainder by 3 (null values dropped).
    static class Rekey implements Processor<String, Long, String, Long> {
        ProcessorContext<String, Long> context;

        @Override
        public void init(ProcessorContext<String, Long> context) {
            this.context = context;
        }

        @Override
        public void process(Record<String, Long> record) {
            if (record.value() != null) {
                context.forward(record.withKey("g" + Math.floorMod(record.value(), 3)));
            }
        }
    }

    // A table's value transformer with a store: tags each value with how many times the key
    // was transformed (which counts the old values it is given too).
    static class Tagging implements ValueTransformerWithKey<String, Long, String> {
        KeyValueStore<String, Long> calls;

        @Override
        public void init(org.apache.kafka.streams.processor.ProcessorContext context) {
            calls = context.getStateStore("calls");
        }

        @Override
        public String transform(String key, Long value) {
            Long n = calls.get(key);
            n = n == null ? 1 : n + 1;
            calls.put(key, n);
            return value == null ? null : value + "#" + n;
        }

        @Override
        public void close() {
        }
    }

    // The Processor API with a session store (sessions of 50 ms inactivity, kept 300 ms):
    // each value joins its key's sessions within 50 ms (merging those it bridges), the merged
    // session's sum is stored and forwarded as sum * 100 + the key's live sessions. A 0
    // removes the sessions it would merge instead.
    static class SessionSums implements Processor<String, Long, String, Long> {
        org.apache.kafka.streams.state.SessionStore<String, Long> sessions;
        ProcessorContext<String, Long> context;

        @Override
        public void init(ProcessorContext<String, Long> context) {
            this.context = context;
            sessions = context.getStateStore("sessions");
        }

        @Override
        public void process(Record<String, Long> record) {
            if (record.key() == null || record.value() == null) return;
            long t = record.timestamp(), start = t, end = t, sum = record.value();
            List<KeyValue<org.apache.kafka.streams.kstream.Windowed<String>, Long>> near = new ArrayList<>();
            try (var it = sessions.findSessions(record.key(), t - 50, t + 50)) {
                while (it.hasNext()) near.add(it.next());
            }
            for (var s : near) {
                start = Math.min(start, s.key.window().start());
                end = Math.max(end, s.key.window().end());
                sum += s.value;
                sessions.remove(s.key);
            }
            if (record.value() != 0) {
                sessions.put(new org.apache.kafka.streams.kstream.Windowed<>(record.key(),
                    new org.apache.kafka.streams.kstream.internals.SessionWindow(start, end)), sum);
            }
            long live = 0;
            try (var it = sessions.fetch(record.key())) {
                while (it.hasNext()) { it.next(); live++; }
            }
            context.forward(record.withValue(sum * 100 + live));
        }
    }

    // The Processor API forwarding to named children: even values to "evens", odd ones to
    // "odds", and values above 10 to every child too.
    static class Route implements Processor<String, Long, String, Long> {
        ProcessorContext<String, Long> context;

        @Override
        public void init(ProcessorContext<String, Long> context) {
            this.context = context;
        }

        @Override
        public void process(Record<String, Long> record) {
            if (record.value() == null) return;
            context.forward(record, Math.floorMod(record.value(), 2) == 0 ? "evens" : "odds");
            if (record.value() > 10) context.forward(record.withValue(-record.value()));
        }
    }

    // The Processor API, keys fixed: doubles each value, dropping null keys and null values.
    static class Double implements FixedKeyProcessor<String, Long, Long> {
        FixedKeyProcessorContext<String, Long> context;

        @Override
        public void init(FixedKeyProcessorContext<String, Long> context) {
            this.context = context;
        }

        @Override
        public void process(FixedKeyRecord<String, Long> record) {
            if (record.key() != null && record.value() != null) {
                context.forward(record.withValue(record.value() * 2));
            }
        }
    }

    static {
        // stateless
        add("filter_map_values", () -> build(b -> b.stream("in", Consumed.with(S, L))
            .filter((k, v) -> v != null && v > 0)
            .mapValues(v -> v * 2)
            .to("out", Produced.with(S, L))));

        // stream aggregations
        add("count", () -> build(b -> grouped(b).count().toStream().to("out", Produced.with(S, L))));
        add("reduce_max", () -> build(b -> grouped(b).reduce(Math::max).toStream().to("out", Produced.with(S, L))));
        add("aggregate_sum", () -> build(b -> grouped(b)
            .aggregate(() -> 0L, (k, v, a) -> a + v, Materialized.with(S, L))
            .toStream().to("out", Produced.with(S, L))));
        add("group_by_count", () -> build(b -> b.stream("in", Consumed.with(S, L))
            .groupBy((k, v) -> k == null ? null : "g" + k.charAt(k.length() - 1) % 2, Grouped.with(S, L))
            .count().toStream().to("out", Produced.with(S, L))));

        add("group_by_reduce_max", () -> build(b -> b.stream("in", Consumed.with(S, L))
            .groupBy((k, v) -> k == null ? null : "g" + k.charAt(k.length() - 1) % 3, Grouped.with(S, L))
            .reduce(Math::max).toStream().to("out", Produced.with(S, L))));
        add("group_by_aggregate_sum", () -> build(b -> b.stream("in", Consumed.with(S, L))
            .groupBy((k, v) -> v == null ? "none" : "g" + Math.floorMod(v, 4), Grouped.with(S, L))
            .aggregate(() -> 0L, (k, v, a) -> a + v, Materialized.with(S, L))
            .toStream().to("out", Produced.with(S, L))));

        // time windows
        add("tumbling_count", () -> build(b -> grouped(b).windowedBy(TimeWindows.ofSizeWithNoGrace(ms(100)))
            .count().toStream().to("out", Produced.with(timeWindowed(100), L))));
        add("tumbling_count_grace", () -> build(b -> grouped(b).windowedBy(TimeWindows.ofSizeAndGrace(ms(100), ms(50)))
            .count().toStream().to("out", Produced.with(timeWindowed(100), L))));
        add("hopping_reduce_max", () -> build(b -> grouped(b)
            .windowedBy(TimeWindows.ofSizeAndGrace(ms(100), ms(20)).advanceBy(ms(30)))
            .reduce(Math::max).toStream().to("out", Produced.with(timeWindowed(100), L))));
        add("hopping_aggregate_sum", () -> build(b -> grouped(b)
            .windowedBy(TimeWindows.ofSizeWithNoGrace(ms(100)).advanceBy(ms(50)))
            .aggregate(() -> 0L, (k, v, a) -> a + v, Materialized.with(S, L))
            .toStream().to("out", Produced.with(timeWindowed(100), L))));
        add("tumbling_suppress", () -> build(b -> grouped(b)
            .windowedBy(TimeWindows.ofSizeAndGrace(ms(100), ms(20)))
            .count()
            .suppress(Suppressed.untilWindowCloses(Suppressed.BufferConfig.unbounded()))
            .toStream().to("out", Produced.with(timeWindowed(100), L))));
        add("hopping_suppress", () -> build(b -> grouped(b)
            .windowedBy(TimeWindows.ofSizeAndGrace(ms(100), ms(20)).advanceBy(ms(50)))
            .count()
            .suppress(Suppressed.untilWindowCloses(Suppressed.BufferConfig.unbounded()))
            .toStream().to("out", Produced.with(timeWindowed(100), L))));
        add("hopping_emit_on_close", () -> build(b -> grouped(b)
            .windowedBy(TimeWindows.ofSizeAndGrace(ms(100), ms(20)).advanceBy(ms(50)))
            .emitStrategy(EmitStrategy.onWindowClose())
            .count().toStream().to("out", Produced.with(timeWindowed(100), L))));

        // sliding windows (a window [start, start + difference], both ends included)
        add("sliding_count", () -> build(b -> grouped(b)
            .windowedBy(SlidingWindows.ofTimeDifferenceWithNoGrace(ms(50)))
            .count().toStream().to("out", Produced.with(timeWindowed(50), L))));
        add("sliding_count_grace", () -> build(b -> grouped(b)
            .windowedBy(SlidingWindows.ofTimeDifferenceAndGrace(ms(50), ms(30)))
            .count().toStream().to("out", Produced.with(timeWindowed(50), L))));
        add("sliding_reduce_max", () -> build(b -> grouped(b)
            .windowedBy(SlidingWindows.ofTimeDifferenceAndGrace(ms(40), ms(20)))
            .reduce(Math::max).toStream().to("out", Produced.with(timeWindowed(40), L))));
        add("sliding_aggregate_sum", () -> build(b -> grouped(b)
            .windowedBy(SlidingWindows.ofTimeDifferenceAndGrace(ms(60), ms(100)))
            .aggregate(() -> 0L, (k, v, a) -> a + v, Materialized.with(S, L))
            .toStream().to("out", Produced.with(timeWindowed(60), L))));

        // session windows
        add("session_count", () -> build(b -> grouped(b)
            .windowedBy(SessionWindows.ofInactivityGapWithNoGrace(ms(40)))
            .count().toStream().to("out", Produced.with(SESSION, L))));
        add("session_count_grace", () -> build(b -> grouped(b)
            .windowedBy(SessionWindows.ofInactivityGapAndGrace(ms(40), ms(30)))
            .count().toStream().to("out", Produced.with(SESSION, L))));
        add("session_reduce_max", () -> build(b -> grouped(b)
            .windowedBy(SessionWindows.ofInactivityGapAndGrace(ms(30), ms(10)))
            .reduce(Math::max).toStream().to("out", Produced.with(SESSION, L))));
        add("session_aggregate_sum", () -> build(b -> grouped(b)
            .windowedBy(SessionWindows.ofInactivityGapAndGrace(ms(30), ms(20)))
            .aggregate(() -> 0L, (k, v, a) -> a + v, (k, a1, a2) -> a1 + a2, Materialized.with(S, L))
            .toStream().to("out", Produced.with(SESSION, L))));

        // null values reach windowed aggregations (Kafka drops only null keys there)
        add("count_nullable", () -> build(b -> grouped(b).count().toStream().to("out", Produced.with(S, L))));
        add("tumbling_count_nullable", () -> build(b -> grouped(b).windowedBy(TimeWindows.ofSizeWithNoGrace(ms(100)))
            .count().toStream().to("out", Produced.with(timeWindowed(100), L))));
        add("hopping_aggregate_sum_nullable", () -> build(b -> grouped(b)
            .windowedBy(TimeWindows.ofSizeAndGrace(ms(100), ms(10)).advanceBy(ms(50)))
            .aggregate(() -> 0L, (k, v, a) -> v == null ? a : a + v, Materialized.with(S, L))
            .toStream().to("out", Produced.with(timeWindowed(100), L))));
        add("sliding_count_nullable", () -> build(b -> grouped(b)
            .windowedBy(SlidingWindows.ofTimeDifferenceAndGrace(ms(50), ms(30)))
            .count().toStream().to("out", Produced.with(timeWindowed(50), L))));
        add("session_count_nullable", () -> build(b -> grouped(b)
            .windowedBy(SessionWindows.ofInactivityGapAndGrace(ms(40), ms(30)))
            .count().toStream().to("out", Produced.with(SESSION, L))));

        // stream-table and stream-globaltable joins
        add("stream_table_join", () -> build(b -> {
            KTable<String, String> t = b.table("right", Consumed.with(S, S));
            b.stream("left", Consumed.with(S, S)).join(t, (l, r) -> l + "+" + r).to("out", Produced.with(S, S));
        }));
        add("stream_table_left_join", () -> build(b -> {
            KTable<String, String> t = b.table("right", Consumed.with(S, S));
            b.stream("left", Consumed.with(S, S)).leftJoin(t, (l, r) -> l + "+" + show(r)).to("out", Produced.with(S, S));
        }));
        add("stream_global_join", () -> build(b -> {
            GlobalKTable<String, String> t = b.globalTable("right", Consumed.with(S, S));
            b.stream("left", Consumed.with(S, S)).join(t, (k, v) -> k, (l, r) -> l + "+" + r).to("out", Produced.with(S, S));
        }));
        add("stream_global_left_join", () -> build(b -> {
            GlobalKTable<String, String> t = b.globalTable("right", Consumed.with(S, S));
            b.stream("left", Consumed.with(S, S)).leftJoin(t, (k, v) -> k, (l, r) -> l + "+" + show(r)).to("out", Produced.with(S, S));
        }));

        // stream-stream joins
        streamStream("stream_stream_join", "inner", JoinWindows.ofTimeDifferenceWithNoGrace(ms(50)));
        streamStream("stream_stream_join_string_keys", "inner", JoinWindows.ofTimeDifferenceAndGrace(ms(50), ms(10)));
        streamStream("stream_stream_join_grace", "inner", JoinWindows.ofTimeDifferenceAndGrace(ms(50), ms(30)));
        streamStream("stream_stream_left_join", "left", JoinWindows.ofTimeDifferenceAndGrace(ms(50), ms(20)));
        streamStream("stream_stream_outer_join", "outer", JoinWindows.ofTimeDifferenceAndGrace(ms(50), ms(20)));
        streamStream("stream_stream_left_join_no_grace", "left", JoinWindows.ofTimeDifferenceWithNoGrace(ms(30)));
        streamStream("stream_stream_join_asymmetric", "inner", JoinWindows.ofTimeDifferenceAndGrace(ms(40), ms(20)).after(ms(10)));
        streamStream("stream_stream_left_join_asymmetric", "left", JoinWindows.ofTimeDifferenceAndGrace(ms(40), ms(20)).before(ms(5)));
        streamStream("stream_stream_outer_join_asymmetric", "outer", JoinWindows.ofTimeDifferenceAndGrace(ms(40), ms(20)).after(ms(0)));

        // table-table joins
        tableTable("table_table_join", "inner", false);
        tableTable("table_table_left_join", "left", false);
        tableTable("table_table_outer_join", "outer", false);
        tableTable("table_table_join_filtered", "inner", true);
        tableTable("table_table_left_join_filtered", "left", true);
        tableTable("table_table_outer_join_filtered", "outer", true);
        add("table_table_join_group_by_count", () -> build(b -> {
            KTable<String, String> l = b.table("left", Consumed.with(S, S));
            KTable<String, String> r = b.table("right", Consumed.with(S, S));
            l.leftJoin(r, (a, c) -> a + "+" + show(c))
                .groupBy((k, v) -> KeyValue.pair("g" + v.length() % 3, v), Grouped.with(S, S))
                .count().toStream().to("out", Produced.with(S, L));
        }));

        // foreign-key table joins (KIP-213)
        add("table_fk_join", () -> build(b -> {
            KTable<String, String> l = b.table("left", Consumed.with(S, S));
            KTable<String, String> r = b.table("right", Consumed.with(S, S));
            l.join(r, Differential::fk, (a, c) -> a + "+" + c).toStream().to("out", Produced.with(S, S));
        }));
        add("table_fk_left_join", () -> build(b -> {
            KTable<String, String> l = b.table("left", Consumed.with(S, S));
            KTable<String, String> r = b.table("right", Consumed.with(S, S));
            l.leftJoin(r, Differential::fk, (a, c) -> a + "+" + show(c)).toStream().to("out", Produced.with(S, S));
        }));
        add("table_fk_join_filtered_group_by_count", () -> build(b -> {
            KTable<String, String> l = b.table("left", Consumed.with(S, S));
            KTable<String, String> r = b.table("right", Consumed.with(S, S))
                .mapValues(v -> v.toUpperCase()).filter((k, v) -> !v.endsWith("3"));
            l.filter((k, v) -> !v.endsWith("1")).join(r, Differential::fk, (a, c) -> a + "+" + c)
                .groupBy((k, v) -> KeyValue.pair("g" + v.length() % 3, v), Grouped.with(S, S))
                .count().toStream().to("out", Produced.with(S, L));
        }));
        add("table_fk_left_join_named", () -> build(b -> {
            KTable<String, String> l = b.table("left", Consumed.with(S, S));
            KTable<String, String> r = b.table("right", Consumed.with(S, S));
            l.leftJoin(r, Differential::fk, (a, c) -> a + "+" + show(c), TableJoined.as("orders"))
                .toStream().to("out", Produced.with(S, S));
        }));

        // windowed tables joined (through their window stores)
        add("windowed_table_join", () -> build(b -> {
            KTable<org.apache.kafka.streams.kstream.Windowed<String>, Long> l = b.stream("left", Consumed.with(S, S))
                .groupByKey(Grouped.with(S, S)).windowedBy(TimeWindows.ofSizeAndGrace(ms(100), ms(20))).count();
            KTable<org.apache.kafka.streams.kstream.Windowed<String>, Long> r = b.stream("right", Consumed.with(S, S))
                .groupByKey(Grouped.with(S, S)).windowedBy(TimeWindows.ofSizeAndGrace(ms(100), ms(20))).count();
            l.join(r, (x, y) -> x + "+" + y).toStream().to("out", Produced.with(timeWindowed(100), S));
        }));

        // a stream as a table; a re-keyed stream joined; merged streams counted
        add("stream_to_table", () -> build(b -> b.stream("in", Consumed.with(S, L))
            .toTable(Materialized.with(S, L))
            .filter((k, v) -> v % 3 != 0)
            .toStream().to("out", Produced.with(S, L))));
        add("select_key_to_table", () -> build(b -> b.stream("in", Consumed.with(S, L))
            .selectKey((k, v) -> v == null ? null : "t" + Math.floorMod(v, 4))
            .toTable(Materialized.with(S, L))
            .toStream().to("out", Produced.with(S, L))));
        add("select_key_table_join", () -> build(b -> {
            KTable<String, String> t = b.table("right", Consumed.with(S, S));
            b.stream("left", Consumed.with(S, S))
                .selectKey((k, v) -> v == null ? null : "k" + (v.length() + 2) % 6)
                .join(t, (l, r) -> l + "+" + r)
                .to("out", Produced.with(S, S));
        }));
        add("select_key_stream_join", () -> build(b -> {
            KStream<String, String> r = b.stream("right", Consumed.with(S, S))
                .map((k, v) -> KeyValue.pair(v == null ? null : "k" + v.length() % 6, k));
            b.stream("left", Consumed.with(S, S))
                .selectKey((k, v) -> v == null ? null : "k" + (v.length() + 2) % 6)
                .leftJoin(r, (a, c) -> a + "+" + show(c), JoinWindows.ofTimeDifferenceAndGrace(ms(50), ms(20)),
                    StreamJoined.with(S, S, S))
                .to("out", Produced.with(S, S));
        }));
        add("merge_flat_map_count", () -> build(b -> b.stream("left", Consumed.with(S, S))
            .merge(b.stream("right", Consumed.with(S, S)))
            .flatMap((k, v) -> v == null ? List.<KeyValue<String, String>>of()
                : List.of(KeyValue.pair(v, k), KeyValue.pair("all", v)))
            .groupByKey(Grouped.with(S, S))
            .count().toStream().to("out", Produced.with(S, L))));

        add("flat_map_repeated_key_count", () -> build(b -> b.stream("in", Consumed.with(S, L))
            .flatMap((k, v) -> v == null ? List.<KeyValue<String, Long>>of()
                : List.of(KeyValue.pair("r" + Math.floorMod(v, 3), v), KeyValue.pair("all", v),
                    KeyValue.pair("r" + Math.floorMod(v, 3), v)))
            .groupByKey(Grouped.with(S, L))
            .count().toStream().to("out", Produced.with(S, L))));
        add("flat_map_repeated_key_windowed_count", () -> build(b -> b.stream("in", Consumed.with(S, L))
            .flatMap((k, v) -> v == null ? List.<KeyValue<String, Long>>of()
                : List.of(KeyValue.pair("r" + Math.floorMod(v, 3), v), KeyValue.pair("all", v),
                    KeyValue.pair("r" + Math.floorMod(v, 3), v)))
            .groupByKey(Grouped.with(S, L))
            .windowedBy(TimeWindows.ofSizeWithNoGrace(ms(100))).count()
            .toStream().to("out", Produced.with(timeWindowed(100), L))));

        // the Processor API
        add("process_punctuate", () -> build(b -> {
            b.addStateStore(Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore("last"), S, L));
            b.stream("in", Consumed.with(S, L)).process(LastValue::new, "last").to("out", Produced.with(S, L));
        }));
        add("process_punctuate_unlogged", () -> build(b -> {
            b.addStateStore(Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore("last"), S, L).withLoggingDisabled());
            b.stream("in", Consumed.with(S, L)).process(LastValue::new, "last").to("out", Produced.with(S, L));
        }));
        add("process_window_store", () -> build(b -> {
            b.addStateStore(Stores.windowStoreBuilder(Stores.inMemoryWindowStore("sums", ms(300), ms(100), false), S, L));
            b.stream("in", Consumed.with(S, L)).process(WindowSums::new, "sums").to("out", Produced.with(S, L));
        }));
        add("process_session_store_unlogged", () -> build(b -> {
            b.addStateStore(Stores.sessionStoreBuilder(Stores.inMemorySessionStore("sessions", ms(300)), S, L).withLoggingDisabled());
            b.stream("in", Consumed.with(S, L)).process(SessionSums::new, "sessions").to("out", Produced.with(S, L));
        }));
        add("process_window_store_unlogged", () -> build(b -> {
            b.addStateStore(Stores.windowStoreBuilder(Stores.inMemoryWindowStore("sums", ms(300), ms(100), false), S, L).withLoggingDisabled());
            b.stream("in", Consumed.with(S, L)).process(WindowSums::new, "sums").to("out", Produced.with(S, L));
        }));
        add("process_session_store", () -> build(b -> {
            b.addStateStore(Stores.sessionStoreBuilder(Stores.inMemorySessionStore("sessions", ms(300)), S, L));
            b.stream("in", Consumed.with(S, L)).process(SessionSums::new, "sessions").to("out", Produced.with(S, L));
        }));
        add("process_forward_to_named_children", () -> build(b -> {
            KStream<String, Long> routed = b.stream("in", Consumed.with(S, L)).process(Route::new);
            routed.mapValues(v -> v * 100, org.apache.kafka.streams.kstream.Named.as("evens")).to("out", Produced.with(S, L));
            routed.filter((k, v) -> v != 7, org.apache.kafka.streams.kstream.Named.as("odds")).to("out", Produced.with(S, L));
        }));
        add("process_then_count", () -> build(b -> b.stream("in", Consumed.with(S, L))
            .process(Rekey::new)
            .groupByKey(Grouped.with(S, L))
            .count().toStream().to("out", Produced.with(S, L))));

        // suppression by time limit (a rate limit on a table's updates)
        add("table_suppress_time_limit", () -> build(b -> b.table("table", Consumed.with(S, L))
            .suppress(Suppressed.untilTimeLimit(ms(50), Suppressed.BufferConfig.unbounded()))
            .toStream().to("out", Produced.with(S, L))));
        add("count_suppress_max_records", () -> build(b -> grouped(b).count()
            .suppress(Suppressed.untilTimeLimit(ms(100), Suppressed.BufferConfig.maxRecords(2).emitEarlyWhenFull())
                .withName("limited"))
            .toStream().to("out", Produced.with(S, L))));
        add("table_suppress_group_by_count", () -> build(b -> b.table("table", Consumed.with(S, L))
            .suppress(Suppressed.untilTimeLimit(ms(30), Suppressed.BufferConfig.maxRecords(3)))
            .groupBy((k, v) -> KeyValue.pair("g" + Math.floorMod(v, 3), v), Grouped.with(S, L))
            .count().toStream().to("out", Produced.with(S, L))));

        // a table's value transformer
        add("table_transform_values", () -> build(b -> {
            b.addStateStore(Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore("calls"), S, L));
            b.table("table", Consumed.with(S, L)).transformValues(Tagging::new, "calls")
                .toStream().to("out", Produced.with(S, S));
        }));
        add("table_transform_values_group_by", () -> build(b -> {
            b.addStateStore(Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore("calls"), S, L));
            b.table("table", Consumed.with(S, L)).transformValues(Tagging::new, "calls")
                .groupBy((k, v) -> KeyValue.pair("g" + v.length() % 3, v), Grouped.with(S, S))
                .count().toStream().to("out", Produced.with(S, L));
        }));

        // cogrouped streams
        add("cogroup_sum_and_lengths", () -> build(b -> {
            KGroupedStream<String, Long> longs = b.stream("left", Consumed.with(S, L)).groupByKey(Grouped.with(S, L));
            KGroupedStream<String, String> texts = b.stream("right", Consumed.with(S, S)).groupByKey(Grouped.with(S, S));
            longs.<Long>cogroup((k, v, a) -> a + v)
                .cogroup(texts, (k, v, a) -> a + 100 * v.length())
                .aggregate(() -> 0L, Materialized.with(S, L))
                .toStream().to("out", Produced.with(S, L));
        }));
        add("cogroup_rekeyed", () -> build(b -> {
            KGroupedStream<String, Long> longs = b.stream("left", Consumed.with(S, L))
                .groupBy((k, v) -> v == null ? null : "g" + Math.floorMod(v, 3), Grouped.<String, Long>as("by-rest").withKeySerde(S).withValueSerde(L));
            KGroupedStream<String, String> texts = b.stream("right", Consumed.with(S, S))
                .groupBy((k, v) -> v == null ? null : "g" + v.length() % 3, Grouped.<String, String>as("by-length").withKeySerde(S).withValueSerde(S));
            longs.<Long>cogroup((k, v, a) -> a + 1)
                .cogroup(texts, (k, v, a) -> a + 1000)
                .aggregate(() -> 0L, Materialized.with(S, L))
                .toStream().to("out", Produced.with(S, L));
        }));

        // topology.optimization=all: one repartition topic per key change, tables' source
        // topics as their changelogs
        add("optimized_rekey_count_and_max", () -> optimized(b -> {
            KStream<String, Long> s = b.stream("in", Consumed.with(S, L))
                .selectKey((k, v) -> v == null ? null : "r" + Math.floorMod(v, 3));
            s.groupByKey(Grouped.with(S, L)).count().toStream().to("out", Produced.with(S, L));
            s.groupByKey(Grouped.with(S, L)).reduce(Math::max).toStream().to("out2", Produced.with(S, L));
        }));
        add("optimized_rekey_filter_count_and_join", () -> optimized(b -> {
            KTable<String, String> t = b.table("right", Consumed.with(S, S));
            KStream<String, String> s = b.stream("left", Consumed.with(S, S))
                .selectKey((k, v) -> v == null ? null : "k" + v.length() % 6);
            s.filter((k, v) -> v == null || v.length() % 2 == 0)
                .groupByKey(Grouped.with(S, S)).count().toStream().to("out", Produced.with(S, L));
            s.join(t, (l, r) -> l + "+" + r).to("out2", Produced.with(S, S));
        }));
        add("optimized_merged_rekeyed_counts", () -> optimized(b -> {
            KStream<String, String> l = b.stream("left", Consumed.with(S, S))
                .selectKey((k, v) -> v == null ? null : "k" + v.length() % 4);
            KStream<String, String> r = b.stream("right", Consumed.with(S, S))
                .selectKey((k, v) -> v == null ? null : "k" + (v.length() + 1) % 4);
            KStream<String, String> m = l.merge(r);
            m.groupByKey(Grouped.with(S, S)).count().toStream().to("out", Produced.with(S, L));
            m.groupByKey(Grouped.with(S, S)).reduce((a, c) -> a.length() >= c.length() ? a : c)
                .toStream().to("out2", Produced.with(S, S));
        }));
        add("optimized_flat_map_windowed_and_total", () -> optimized(b -> {
            KStream<String, Long> s = b.stream("in", Consumed.with(S, L))
                .flatMap((k, v) -> v == null ? List.<KeyValue<String, Long>>of()
                    : List.of(KeyValue.pair("r" + Math.floorMod(v, 3), v), KeyValue.pair("all", v)));
            s.filter((k, v) -> v % 2 == 0).groupByKey(Grouped.with(S, L))
                .windowedBy(TimeWindows.ofSizeWithNoGrace(ms(100))).count()
                .toStream().to("out", Produced.with(timeWindowed(100), L));
            s.groupByKey(Grouped.with(S, L)).aggregate(() -> 0L, (k, v, a) -> a + v, Materialized.with(S, L))
                .toStream().to("out2", Produced.with(S, L));
        }));
        add("optimized_rekey_to_map_values_count", () -> optimized(b -> {
            KStream<String, Long> s = b.stream("in", Consumed.with(S, L))
                .selectKey((k, v) -> v == null ? null : "r" + Math.floorMod(v, 3));
            s.to("rekeyed", Produced.with(S, L));
            s.mapValues(v -> v == null ? null : v * 10).groupByKey(Grouped.with(S, L))
                .reduce(Math::max).toStream().to("out", Produced.with(S, L));
            s.groupByKey(Grouped.with(S, L)).count().toStream().to("out2", Produced.with(S, L));
        }));
        add("optimized_group_by_count", () -> optimized(b -> b.stream("in", Consumed.with(S, L))
            .groupBy((k, v) -> k == null ? null : "g" + k.charAt(k.length() - 1) % 2, Grouped.with(S, L))
            .count().toStream().to("out", Produced.with(S, L))));
        add("optimized_named_groups_count_and_max", () -> optimized(b -> {
            KStream<String, Long> s = b.stream("in", Consumed.with(S, L))
                .selectKey((k, v) -> v == null ? null : "r" + Math.floorMod(v, 3));
            s.groupByKey(Grouped.<String, Long>as("by-rest").withKeySerde(S).withValueSerde(L))
                .count().toStream().to("out", Produced.with(S, L));
            s.groupByKey(Grouped.<String, Long>as("by-rest-too").withKeySerde(S).withValueSerde(L))
                .reduce(Math::max).toStream().to("out2", Produced.with(S, L));
        }));
        add("optimized_select_key_table_join", () -> optimized(b -> {
            KTable<String, String> t = b.table("right", Consumed.with(S, S));
            b.stream("left", Consumed.with(S, S))
                .selectKey((k, v) -> v == null ? null : "k" + (v.length() + 2) % 6)
                .join(t, (l, r) -> l + "+" + r)
                .to("out", Produced.with(S, S));
        }));

        add("self_join_unoptimized", () -> build(b -> {
            KStream<String, String> s = b.stream("left", Consumed.with(S, S));
            s.join(s, (x, y) -> x + "+" + y, JoinWindows.ofTimeDifferenceAndGrace(ms(50), ms(20)), StreamJoined.with(S, S, S))
                .to("out", Produced.with(S, S));
        }));
        add("optimized_self_join", () -> optimized(b -> {
            KStream<String, String> s = b.stream("left", Consumed.with(S, S));
            s.join(s, (x, y) -> x + "+" + y, JoinWindows.ofTimeDifferenceAndGrace(ms(50), ms(20)), StreamJoined.with(S, S, S))
                .to("out", Produced.with(S, S));
        }));

        add("optimized_self_left_join", () -> optimized(b -> {
            KStream<String, String> s = b.stream("left", Consumed.with(S, S));
            s.leftJoin(s, (x, y) -> x + "+" + y, JoinWindows.ofTimeDifferenceAndGrace(ms(50), ms(20)), StreamJoined.with(S, S, S))
                .to("out", Produced.with(S, S));
        }));

        // explicit repartitions
        add("repartition_count", () -> build(b -> b.stream("in", Consumed.with(S, L))
            .selectKey((k, v) -> v == null ? null : "r" + Math.floorMod(v, 3))
            .repartition(Repartitioned.with(S, L))
            .groupByKey(Grouped.with(S, L))
            .count().toStream().to("out", Produced.with(S, L))));
        add("repartition_then_left_join", () -> build(b -> {
            KTable<String, String> t = b.table("right", Consumed.with(S, S));
            b.stream("left", Consumed.with(S, S))
                .selectKey((k, v) -> v == null ? null : "k" + v.length() % 6)
                .repartition(Repartitioned.with(S, S))
                .mapValues(v -> v == null ? null : v + "!")
                .leftJoin(t, (l, r) -> l + "+" + show(r)).to("out", Produced.with(S, S));
        }));
        add("repartition_named_map_values", () -> build(b -> b.stream("in", Consumed.with(S, L))
            .repartition(Repartitioned.<String, Long>as("rekeyed").withKeySerde(S).withValueSerde(L)
                .withNumberOfPartitions(3))
            .mapValues(v -> v == null ? null : v * 2)
            .to("out", Produced.with(S, L))));

        add("wall_clock_punctuate", () -> build(b -> {
            b.addStateStore(Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore("counts"), S, L));
            b.stream("in", Consumed.with(S, L)).process(WallClockTotal::new, "counts").to("out", Produced.with(S, L));
        }));
        add("process_values_then_count", () -> build(b -> b.stream("in", Consumed.with(S, L))
            .processValues(Double::new)
            .groupByKey(Grouped.with(S, L))
            .reduce(Long::sum).toStream().to("out", Produced.with(S, L))));

        // table group_by
        add("table_group_by_count", () -> build(b -> b.table("table", Consumed.with(S, L))
            .groupBy((k, v) -> KeyValue.pair("g" + Math.floorMod(v, 3), v), Grouped.with(S, L))
            .count().toStream().to("out", Produced.with(S, L))));
        add("table_group_by_reduce", () -> build(b -> b.table("table", Consumed.with(S, L))
            .groupBy((k, v) -> KeyValue.pair("g" + Math.floorMod(v, 3), v), Grouped.with(S, L))
            .reduce((a, v) -> a + v, (a, v) -> a - v).toStream().to("out", Produced.with(S, L))));
        add("table_group_by_aggregate", () -> build(b -> b.table("table", Consumed.with(S, L))
            .groupBy((k, v) -> KeyValue.pair(k.substring(0, 1) + Math.floorMod(v, 2), v), Grouped.with(S, L))
            .aggregate(() -> 0L, (k, v, a) -> a + v, (k, v, a) -> a - v, Materialized.with(S, L))
            .toStream().to("out", Produced.with(S, L))));
        add("table_filter_map_values", () -> build(b -> b.table("table", Consumed.with(S, L))
            .filter((k, v) -> v % 2 == 0)
            .mapValues(v -> v * 10)
            .toStream().to("out", Produced.with(S, L))));
        // versioned tables (KIP-889, KIP-914), with a history of 100 ms
        add("versioned_table_to_stream", () -> build(b -> versioned(b, "table", "versioned", L)
            .toStream().to("out", Produced.with(S, L))));
        add("versioned_table_filter_map_values", () -> build(b -> versioned(b, "table", "versioned", L)
            .filter((k, v) -> v % 2 == 0)
            .mapValues(v -> v * 10)
            .toStream().to("out", Produced.with(S, L))));
        add("versioned_table_filter_group_by_count", () -> build(b -> versioned(b, "table", "versioned", L)
            .filter((k, v) -> v % 2 == 0)
            .groupBy((k, v) -> KeyValue.pair("g" + Math.floorMod(v, 3), v), Grouped.with(S, L))
            .count().toStream().to("out", Produced.with(S, L))));
        add("stream_versioned_table_join", () -> build(b -> {
            KTable<String, String> t = versioned(b, "right", "versioned", S);
            b.stream("left", Consumed.with(S, S)).join(t, (l, r) -> l + "+" + r).to("out", Produced.with(S, S));
        }));
        add("stream_versioned_table_left_join", () -> build(b -> {
            KTable<String, String> t = versioned(b, "right", "versioned", S);
            b.stream("left", Consumed.with(S, S)).leftJoin(t, (l, r) -> l + "+" + show(r)).to("out", Produced.with(S, S));
        }));
        add("stream_versioned_table_join_grace", () -> build(b -> {
            KTable<String, String> t = versioned(b, "right", "versioned", S);
            b.stream("left", Consumed.with(S, S))
                .join(t, (l, r) -> l + "+" + r, Joined.with(S, S, S).withGracePeriod(ms(50)))
                .to("out", Produced.with(S, S));
        }));
        add("versioned_table_table_join", () -> build(b -> {
            KTable<String, String> l = versioned(b, "left", "left-versioned", S);
            KTable<String, String> r = versioned(b, "right", "right-versioned", S);
            l.join(r, (a, c) -> a + "+" + c).toStream().to("out", Produced.with(S, S));
        }));
        add("versioned_table_table_outer_join", () -> build(b -> {
            KTable<String, String> l = versioned(b, "left", "left-versioned", S);
            KTable<String, String> r = b.table("right", Consumed.with(S, S)).filter((k, v) -> !v.endsWith("3"));
            l.outerJoin(r, (a, c) -> show(a) + "+" + show(c)).toStream().to("out", Produced.with(S, S));
        }));
        add("versioned_table_fk_join", () -> build(b -> {
            KTable<String, String> l = versioned(b, "left", "left-versioned", S);
            KTable<String, String> r = versioned(b, "right", "right-versioned", S);
            l.join(r, Differential::fk, (a, c) -> a + "+" + c).toStream().to("out", Produced.with(S, S));
        }));
    }

    /** A table of `topic` materialized in the versioned store `store` with 100 ms of history. */
    static <V> KTable<String, V> versioned(StreamsBuilder b, String topic, String store, Serde<V> values) {
        return b.table(topic, Consumed.with(S, values),
            Materialized.<String, V>as(Stores.persistentVersionedKeyValueStore(store, ms(100)))
                .withKeySerde(S).withValueSerde(values));
    }

    static {
        // The same topologies, written with `topology!` on the Rust side.
        for (String name : List.of("session_count_grace", "hopping_emit_on_close", "sliding_reduce_max",
                                   "stream_stream_outer_join", "table_table_left_join", "table_group_by_reduce",
                                   "stream_versioned_table_join", "stream_versioned_table_join_grace")) {
            add(name + "_macro", CASES.get(name));
        }
    }

    static void streamStream(String name, String kind, JoinWindows windows) {
        add(name, () -> build(b -> {
            KStream<String, String> l = b.stream("left", Consumed.with(S, S));
            KStream<String, String> r = b.stream("right", Consumed.with(S, S));
            StreamJoined<String, String, String> serdes = StreamJoined.with(S, S, S);
            KStream<String, String> out = switch (kind) {
                case "inner" -> l.join(r, (a, c) -> a + "+" + c, windows, serdes);
                case "left" -> l.leftJoin(r, (a, c) -> a + "+" + show(c), windows, serdes);
                default -> l.outerJoin(r, (a, c) -> show(a) + "+" + show(c), windows, serdes);
            };
            out.to("out", Produced.with(S, S));
        }));
    }

    static void tableTable(String name, String kind, boolean filtered) {
        add(name, () -> build(b -> {
            KTable<String, String> l = b.table("left", Consumed.with(S, S));
            KTable<String, String> r = b.table("right", Consumed.with(S, S));
            if (filtered) {
                l = l.filter((k, v) -> !v.endsWith("3"));
                r = r.mapValues(v -> v.toUpperCase()).filter((k, v) -> v.length() > 2);
            }
            KTable<String, String> out = switch (kind) {
                case "inner" -> l.join(r, (a, c) -> a + "+" + c);
                case "left" -> l.leftJoin(r, (a, c) -> a + "+" + show(c));
                default -> l.outerJoin(r, (a, c) -> show(a) + "+" + show(c));
            };
            out.toStream().to("out", Produced.with(S, S));
        }));
    }

    // ---- the driver ------------------------------------------------------------------------

    static final ObjectMapper JSON = new ObjectMapper();
    static final HexFormat HEX = HexFormat.of();

    static byte[] encode(JsonNode v) {
        if (v == null || v.isNull()) {
            return null;
        }
        if (v.isNumber()) {
            return java.nio.ByteBuffer.allocate(8).putLong(v.asLong()).array();
        }
        return v.asText().getBytes(StandardCharsets.UTF_8);
    }

    static String hex(byte[] bytes) {
        return bytes == null ? null : HEX.formatHex(bytes);
    }

    static void run(String caseName, Path input, Path output, boolean cached) throws Exception {
        Supplier<Topology> topology = CASES.get(caseName);
        if (topology == null) {
            throw new IllegalArgumentException("no case named " + caseName);
        }
        Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, APPLICATION_ID);
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
        props.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, cached ? 10L * 1024 * 1024 : 0L);
        // For the repartition topics of operators that take no serdes (selectKey then join).
        props.put(StreamsConfig.DEFAULT_KEY_SERDE_CLASS_CONFIG, Serdes.StringSerde.class);
        props.put(StreamsConfig.DEFAULT_VALUE_SERDE_CLASS_CONFIG, Serdes.StringSerde.class);
        props.put("__emit.interval.ms.kstreams.windowed.aggregation__", 0L);
        props.put("__emit.interval.ms.kstreams.outer.join.spurious.results.fix__", 0L);
        List<JsonNode> records = new ArrayList<>();
        for (String line : Files.readAllLines(input)) {
            if (!line.isBlank()) {
                records.add(JSON.readTree(line));
            }
        }
        TreeSet<String> inputs = new TreeSet<>();
        records.stream().filter(r -> r.has("topic")).forEach(r -> inputs.add(r.get("topic").asText()));
        StringBuilder out = new StringBuilder();
        Topology built = topology.get();
        Path describe = output.resolveSibling(caseName + ".describe.txt");
        if (!Files.exists(describe)) {
            Files.writeString(describe, built.describe().toString());
        }
        try (TopologyTestDriver driver = new TopologyTestDriver(built, props, Instant.ofEpochMilli(0))) {
            Path topics = output.resolveSibling(caseName + ".topics.txt");
            if (!Files.exists(topics)) {
                Files.writeString(topics, internalTopics(built));
            }
            Map<String, TestInputTopic<byte[], byte[]>> in = new LinkedHashMap<>();
            for (String t : inputs) {
                in.put(t, driver.createInputTopic(t, new ByteArraySerializer(), new ByteArraySerializer()));
            }
            for (int i = 0; i < records.size(); i++) {
                JsonNode r = records.get(i);
                if (r.has("advance")) {
                    driver.advanceWallClockTime(Duration.ofMillis(r.get("advance").asLong()));
                } else {
                    in.get(r.get("topic").asText()).pipeInput(new TestRecord<>(
                        encode(r.get("key")), encode(r.get("value")), null, r.get("timestamp").asLong()));
                }
                TreeSet<String> produced = new TreeSet<>(driver.producedTopicNames());
                for (String t : produced) {
                    if (inputs.contains(t) || (t.startsWith(APPLICATION_ID + "-") && !t.endsWith("-repartition"))) {
                        continue;
                    }
                    TestOutputTopic<byte[], byte[]> o =
                        driver.createOutputTopic(t, new ByteArrayDeserializer(), new ByteArrayDeserializer());
                    for (TestRecord<byte[], byte[]> rec : o.readRecordsToList()) {
                        ObjectNode n = JSON.createObjectNode();
                        n.put("in", i);
                        n.put("topic", t);
                        n.put("key", hex(rec.key()));
                        n.put("value", hex(rec.value()));
                        n.put("timestamp", rec.timestamp());
                        out.append(JSON.writeValueAsString(n)).append('\n');
                    }
                }
            }
            // The task- and node-level metrics this harness compares: the records dropped
            // over the run, and which nodes measure end-to-end latency.
            double dropped = 0;
            TreeSet<String> e2eNodes = new TreeSet<>();
            for (Map.Entry<MetricName, ? extends Metric> m : driver.metrics().entrySet()) {
                MetricName name = m.getKey();
                if (name.group().equals("stream-task-metrics") && name.name().equals("dropped-records-total")) {
                    dropped += ((Number) m.getValue().metricValue()).doubleValue();
                }
                if (name.group().equals("stream-processor-node-metrics") && name.name().equals("record-e2e-latency-max")) {
                    e2eNodes.add(name.tags().get("processor-node-id"));
                }
            }
            ObjectNode metrics = JSON.createObjectNode();
            metrics.put("dropped-records-total", (long) dropped);
            e2eNodes.forEach(metrics.putArray("e2e-nodes")::add);
            String stem = output.getFileName().toString().replace(".out.jsonl", "");
            Files.writeString(output.resolveSibling(stem + ".metrics.json"), JSON.writeValueAsString(metrics));
        }
        Files.writeString(output, out.toString());
    }

    // The internal topics Kafka Streams would create for a topology (after the driver set its
    // application id): one line per topic, its name and its configs sorted by key, as
    // InternalTopicManager gets them (no topic.* overrides; windowstore.changelog.additional.retention.ms
    // at its default of one day).
    static String internalTopics(Topology topology) throws Exception {
        java.lang.reflect.Field field = Topology.class.getDeclaredField("internalTopologyBuilder");
        field.setAccessible(true);
        org.apache.kafka.streams.processor.internals.InternalTopologyBuilder builder =
            (org.apache.kafka.streams.processor.internals.InternalTopologyBuilder) field.get(topology);
        TreeSet<String> lines = new TreeSet<>();
        for (var info : builder.subtopologyToTopicsInfo().values()) {
            List<org.apache.kafka.streams.processor.internals.InternalTopicConfig> configs = new ArrayList<>();
            configs.addAll(info.repartitionSourceTopics.values());
            configs.addAll(info.stateChangelogTopics.values());
            for (var config : configs) {
                var properties = new java.util.TreeMap<>(config.properties(Map.of(), 86_400_000L));
                StringBuilder line = new StringBuilder(config.name());
                // A partition count fixed by the topology (Repartitioned.withNumberOfPartitions).
                config.numberOfPartitions().ifPresent(n -> line.append(" (").append(n).append(" partitions)"));
                properties.forEach((k, v) -> line.append(' ').append(k).append('=').append(v));
                lines.add(line.toString());
            }
        }
        return String.join("\n", lines) + (lines.isEmpty() ? "" : "\n");
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        List<Path> inputs;
        try (Stream<Path> files = Files.list(dir)) {
            inputs = files.filter(p -> p.getFileName().toString().endsWith(".in.jsonl")).sorted().toList();
        }
        for (Path p : inputs) {
            String file = p.getFileName().toString();
            String stem = file.substring(0, file.length() - ".in.jsonl".length());
            String caseName = stem.contains("@") ? stem.substring(0, stem.indexOf('@')) : stem;
            run(caseName, p, dir.resolve(stem + ".out.jsonl"), stem.contains("@cached-"));
        }
        if (args.length > 1 && args[1].equals("--list")) {
            CASES.keySet().forEach(System.out::println);
        }
    }
}
