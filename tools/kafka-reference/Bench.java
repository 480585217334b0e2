// The Kafka Streams 4.4.0 side of the side-by-side benchmark
// (`examples/benches/side_by_side.rs` runs it and ours on one broker): the examples'
// topologies, on the same topics, with the settings both sides share (commit 1 s, a 10 MiB
// record cache, producer linger 5 ms, in-memory stores).
//
// Usage: java -cp "classes:target/lib/*" Bench WORKLOAD BOOTSTRAP APPLICATION_ID THREADS GUARANTEE
//   WORKLOAD: wordcount | stockstats
// Prints `first-processed-ms N` once a record has been processed, then runs until SIGTERM.

import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.EmitStrategy;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.apache.kafka.streams.kstream.WindowedSerdes;
import org.apache.kafka.streams.state.BuiltInDslStoreSuppliers;

public class Bench {
    static final ObjectMapper MAPPER = new ObjectMapper();
    static final Serde<String> S = Serdes.String();
    static final Serde<Long> L = Serdes.Long();
    static final Serde<JsonNode> JSON = Serdes.serdeFrom(
        (Serializer<JsonNode>) (topic, node) -> {
            try {
                return node == null ? null : MAPPER.writeValueAsBytes(node);
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        },
        (Deserializer<JsonNode>) (topic, bytes) -> {
            try {
                return bytes == null ? null : MAPPER.readTree(bytes);
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
    // Our `words`: lower case, split on anything but letters, digits and `_`.
    static final Pattern SPLIT = Pattern.compile("[^\\p{L}\\p{N}_]");

    static Topology wordcount() {
        StreamsBuilder b = new StreamsBuilder();
        b.stream("wordcount-input", Consumed.with(Serdes.Void(), S))
            .flatMapValues(line -> List.of(SPLIT.split(line.toLowerCase(), -1)))
            .filter((k, word) -> !word.isEmpty() && !word.equals("the"))
            .selectKey((k, word) -> word)
            .groupByKey(Grouped.with(S, S))
            .count()
            .toStream()
            .to("wordcount-output", Produced.with(S, L));
        return b.build();
    }

    static JsonNode addTrade(JsonNode aggregate, JsonNode trade) {
        ObjectNode stats = (ObjectNode) aggregate;
        double price = trade.get("price").asDouble();
        int count = stats.get("countTrades").asInt();
        if (count == 0) {
            stats.put("type", trade.get("type").asText());
            stats.put("ticker", trade.get("ticker").asText());
            stats.put("minPrice", price);
        }
        stats.put("countTrades", count + 1);
        stats.put("sumPrice", stats.get("sumPrice").asDouble() + price);
        stats.put("minPrice", Math.min(stats.get("minPrice").asDouble(), price));
        return stats;
    }

    static JsonNode newStats() {
        ObjectNode stats = MAPPER.createObjectNode();
        stats.put("type", "");
        stats.put("ticker", "");
        stats.put("countTrades", 0);
        stats.put("sumPrice", 0.0);
        stats.put("minPrice", 0.0);
        stats.put("avgPrice", 0.0);
        return stats;
    }

    static JsonNode withAvgPrice(JsonNode aggregate) {
        ObjectNode stats = ((ObjectNode) aggregate).deepCopy();
        stats.put("avgPrice", stats.get("sumPrice").asDouble() / Math.max(1, stats.get("countTrades").asInt()));
        return stats;
    }

    static JsonNode addMin(JsonNode aggregate, JsonNode trade) {
        ObjectNode mins = (ObjectNode) aggregate;
        String ticker = trade.get("ticker").asText();
        double price = trade.get("price").asDouble();
        JsonNode old = mins.get(ticker);
        mins.put(ticker, old == null ? price : Math.min(old.asDouble(), price));
        return mins;
    }

    static JsonNode lowestThree(JsonNode aggregate) {
        List<Map.Entry<String, JsonNode>> all = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = aggregate.fields(); it.hasNext(); ) {
            all.add(it.next());
        }
        all.sort((a, c) -> {
            int byPrice = Double.compare(a.getValue().asDouble(), c.getValue().asDouble());
            return byPrice != 0 ? byPrice : a.getKey().compareTo(c.getKey());
        });
        ObjectNode top = MAPPER.createObjectNode();
        ArrayNode lowest = top.putArray("lowest");
        for (Map.Entry<String, JsonNode> e : all.subList(0, Math.min(3, all.size()))) {
            lowest.addObject().put("ticker", e.getKey()).put("minPrice", e.getValue().asDouble());
        }
        return top;
    }

    static Topology stockstats() {
        StreamsBuilder b = new StreamsBuilder();
        KStream<String, JsonNode> trades = b.stream("stocks", Consumed.with(S, JSON));
        trades.groupByKey(Grouped.with(S, JSON))
            .windowedBy(TimeWindows.ofSizeAndGrace(Duration.ofSeconds(5), Duration.ofSeconds(1)).advanceBy(Duration.ofSeconds(1)))
            .aggregate(Bench::newStats, (ticker, trade, stats) -> addTrade(stats, trade), Materialized.with(S, JSON))
            .toStream()
            .mapValues(Bench::withAvgPrice)
            .to("stockstats-output", Produced.with(WindowedSerdes.timeWindowedSerdeFrom(String.class, 5_000), JSON));
        trades.groupBy((ticker, trade) -> "top3", Grouped.with(S, JSON))
            .windowedBy(TimeWindows.ofSizeAndGrace(Duration.ofMinutes(1), Duration.ofSeconds(1)))
            .emitStrategy(EmitStrategy.onWindowClose())
            .aggregate(MAPPER::createObjectNode, (key, trade, mins) -> addMin(mins, trade), Materialized.with(S, JSON))
            .toStream()
            .mapValues(Bench::lowestThree)
            .to("stockstats-top3", Produced.with(WindowedSerdes.timeWindowedSerdeFrom(String.class, 60_000), JSON));
        return b.build();
    }

    public static void main(String[] args) throws Exception {
        String workload = args[0];
        Properties p = new Properties();
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, args[2]);
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, args[1]);
        p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, Integer.parseInt(args[3]));
        p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, args[4]);
        p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 1_000);
        p.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, 10L * 1024 * 1024);
        p.put(StreamsConfig.producerPrefix(ProducerConfig.LINGER_MS_CONFIG), 5);
        String compression = System.getenv().getOrDefault("BENCH_COMPRESSION", "none");
        p.put(StreamsConfig.producerPrefix(ProducerConfig.COMPRESSION_TYPE_CONFIG), compression);
        p.put(StreamsConfig.DSL_STORE_SUPPLIERS_CLASS_CONFIG, BuiltInDslStoreSuppliers.InMemoryDslStoreSuppliers.class);
        Topology topology = switch (workload) {
            case "wordcount" -> wordcount();
            case "stockstats" -> stockstats();
            default -> throw new IllegalArgumentException("unknown workload " + workload);
        };
        KafkaStreams streams = new KafkaStreams(topology, p);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> streams.close(Duration.ofSeconds(30))));
        streams.start();
        // The first record processed, from the stream threads' `process-total`.
        while (true) {
            double processed = 0;
            for (Map.Entry<MetricName, ? extends Metric> m : streams.metrics().entrySet()) {
                if (m.getKey().name().equals("process-total") && m.getKey().group().equals("stream-thread-metrics")) {
                    processed += ((Number) m.getValue().metricValue()).doubleValue();
                }
            }
            if (processed > 0) {
                System.out.println("first-processed-ms " + System.currentTimeMillis());
                System.out.flush();
                break;
            }
            Thread.sleep(1);
        }
        Thread.currentThread().join();
    }
}
