// Prints what Apache Kafka itself computes for the facts our Rust tests pin down:
// describe() text, serializer bytes and producer partitions. Run with ./generate.sh;
// the outputs are checked in under tests/fixtures/kafka/ and compared byte for byte.
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

import org.apache.kafka.clients.producer.internals.BuiltInPartitioner;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.kstream.Branched;
import org.apache.kafka.streams.kstream.GlobalKTable;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.KTable;
import org.apache.kafka.streams.kstream.SessionWindowedSerializer;
import org.apache.kafka.streams.kstream.TimeWindowedSerializer;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.apache.kafka.streams.kstream.Windowed;
import org.apache.kafka.streams.kstream.internals.SessionWindow;
import org.apache.kafka.streams.kstream.internals.TimeWindow;
import java.time.Duration;

public class Reference {
    public static void main(String[] args) throws Exception {
        Path out = Path.of(args[0]);
        Files.createDirectories(out);
        Files.writeString(out.resolve("describe_split_merge.txt"), splitMerge());
        Files.writeString(out.resolve("describe_every_operator.txt"), everyOperator());
        Files.writeString(out.resolve("describe_wordcount.txt"), wordCount());
        Files.writeString(out.resolve("describe_tables.txt"), tables());
        Files.writeString(out.resolve("describe_aggregations.txt"), aggregations());
        Files.writeString(out.resolve("describe_windowed.txt"), windowed());
        Files.writeString(out.resolve("windowed_keys.txt"), windowedKeys());
        Files.writeString(out.resolve("describe_global.txt"), global());
        Files.writeString(out.resolve("serializers.txt"), serializers());
        Files.writeString(out.resolve("partitions.txt"), partitions());
    }

    static String splitMerge() {
        StreamsBuilder b = new StreamsBuilder();
        Map<String, KStream<String, Long>> br = b.<String, Long>stream("input")
            .filter((k, v) -> v != 0)
            .split()
            .branch((k, v) -> v < 0, Branched.as("negative"))
            .defaultBranch(Branched.as("positive"));
        KStream<String, Long> neg = br.get("KSTREAM-BRANCH-0000000002negative").mapValues(v -> -v);
        KStream<String, Long> pos = br.get("KSTREAM-BRANCH-0000000002positive");
        pos.to("positives");
        neg.merge(pos).to("absolute");
        return b.build().describe().toString();
    }

    static String everyOperator() {
        StreamsBuilder b = new StreamsBuilder();
        KStream<String, String> lines = b.stream(List.of("lines-a", "lines-b"));
        lines.flatMapValues(v -> List.of(v.split(" ")))
            .filterNot((k, v) -> v.isEmpty())
            .selectKey((k, v) -> v)
            .peek((k, v) -> { })
            .to("words");
        KStream<String, String> words = b.stream("words");
        words.map((k, v) -> KeyValue.pair(v, k))
            .flatMap((k, v) -> List.of(KeyValue.pair(k, v)))
            .foreach((k, v) -> { });
        b.<String, String>stream(Pattern.compile("logs-.*")).to("all-logs");
        return b.build().describe().toString();
    }

    static String wordCount() {
        StreamsBuilder b = new StreamsBuilder();
        b.<Void, String>stream("wordcount-input")
            .flatMapValues(line -> List.of(line.toLowerCase().split("\\W+")))
            .filter((k, word) -> !word.isEmpty() && !word.equals("the"))
            .selectKey((k, word) -> word)
            .groupByKey()
            .count()
            .toStream()
            .to("wordcount-output");
        return b.build().describe().toString();
    }

    static String tables() {
        StreamsBuilder b = new StreamsBuilder();
        KTable<String, String> profiles = b.table("profiles");
        profiles.filter((k, v) -> v != null && !v.isEmpty())
            .mapValues(v -> v.length())
            .toStream()
            .to("profile-lengths");
        b.<String, Long>stream("updates").toTable().filterNot((k, v) -> v < 0).toStream().to("positive-updates");
        return b.build().describe().toString();
    }

    static String aggregations() {
        StreamsBuilder b = new StreamsBuilder();
        KTable<String, String> users = b.table("user-regions");
        users.groupBy((user, region) -> KeyValue.pair(region, user))
            .count()
            .toStream()
            .to("users-per-region");
        KStream<String, Long> amounts = b.stream("amounts");
        amounts.groupByKey().reduce(Long::sum).toStream().to("sums");
        amounts.groupBy((k, v) -> k.substring(0, 1)).aggregate(() -> 0L, (k, v, agg) -> agg + v).toStream().to("by-initial");
        return b.build().describe().toString();
    }

    static String windowed() {
        StreamsBuilder b = new StreamsBuilder();
        b.<String, Long>stream("stocks")
            .groupByKey()
            .windowedBy(TimeWindows.ofSizeAndGrace(Duration.ofSeconds(5), Duration.ofSeconds(1)).advanceBy(Duration.ofSeconds(1)))
            .count()
            .toStream()
            .to("counts");
        return b.build().describe().toString();
    }

    static String windowedKeys() {
        StringBuilder sb = new StringBuilder();
        TimeWindowedSerializer<String> time = new TimeWindowedSerializer<>(Serdes.String().serializer());
        SessionWindowedSerializer<String> session = new SessionWindowedSerializer<>(Serdes.String().serializer());
        sb.append("time MMM 5000 10000 ")
            .append(hex(time.serialize("t", new Windowed<>("MMM", new TimeWindow(5000, 10000))))).append('\n');
        sb.append("session user-1 1000 4000 ")
            .append(hex(session.serialize("t", new Windowed<>("user-1", new SessionWindow(1000, 4000))))).append('\n');
        return sb.toString();
    }

    static String global() {
        StreamsBuilder b = new StreamsBuilder();
        GlobalKTable<String, String> countries = b.globalTable("countries");
        b.<String, String>stream("orders")
            .join(countries, (orderId, country) -> country, (order, name) -> order + " to " + name)
            .to("shipments");
        return b.build().describe().toString();
    }

    static String hex(byte[] bytes) {
        return bytes == null ? "null" : HexFormat.of().formatHex(bytes);
    }

    static String serializers() {
        StringBuilder sb = new StringBuilder();
        sb.append("string héllo ").append(hex(Serdes.String().serializer().serialize("t", "héllo"))).append('\n');
        sb.append("string <empty> ").append(hex(Serdes.String().serializer().serialize("t", ""))).append('\n');
        for (int i : new int[] {0, 1, -1, 42, Integer.MIN_VALUE, Integer.MAX_VALUE}) {
            sb.append("int ").append(i).append(' ').append(hex(Serdes.Integer().serializer().serialize("t", i))).append('\n');
        }
        for (long l : new long[] {0L, -2L, 1234567890123L, Long.MIN_VALUE}) {
            sb.append("long ").append(l).append(' ').append(hex(Serdes.Long().serializer().serialize("t", l))).append('\n');
        }
        for (double d : new double[] {0.0, -0.0, 3.14, -1.5e300}) {
            sb.append("double ").append(d).append(' ').append(hex(Serdes.Double().serializer().serialize("t", d))).append('\n');
        }
        sb.append("boolean true ").append(hex(Serdes.Boolean().serializer().serialize("t", true))).append('\n');
        sb.append("boolean false ").append(hex(Serdes.Boolean().serializer().serialize("t", false))).append('\n');
        sb.append("void null ").append(hex(Serdes.Void().serializer().serialize("t", null))).append('\n');
        sb.append("bytes 00ff10 ").append(hex(Serdes.ByteArray().serializer().serialize("t", new byte[] {0, -1, 16}))).append('\n');
        sb.append("string null ").append(hex(Serdes.String().serializer().serialize("t", null))).append('\n');
        return sb.toString();
    }

    static String partitions() {
        StringBuilder sb = new StringBuilder();
        String[] keys = {"", "a", "the", "kafka", "streams", "MMM", "ABBV", "user-42", "héllo", "a-little-bit-longer-string"};
        for (String key : keys) {
            byte[] bytes = key.getBytes(StandardCharsets.UTF_8);
            sb.append(hex(bytes));
            for (int n : new int[] {1, 2, 3, 4, 7, 12}) {
                sb.append(' ').append(BuiltInPartitioner.partitionForKey(bytes, n));
            }
            sb.append('\n');
        }
        return sb.toString();
    }
}
