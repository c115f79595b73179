package io.stepsize.wire;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageLite;
import com.google.protobuf.Parser;
import io.stepsize.proto.v1.Curvature;
import io.stepsize.proto.v1.GradientStatsTimeline;
import io.stepsize.proto.v1.JobSpec;
import io.stepsize.proto.v1.ProbeReport;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Protobuf values on Kafka. The deserializer throws {@link SerializationException} on bytes that
 * do not parse, so Streams' deserialization handler sends them to the dead-letter topic instead
 * of the topology seeing a half-empty message. A null record value (tombstone) stays null.
 */
public final class ProtoSerde {
  private ProtoSerde() {}

  public static <T extends MessageLite> Serde<T> of(Parser<T> parser, String what) {
    Serializer<T> serializer = (topic, value) -> value == null ? null : value.toByteArray();
    Deserializer<T> deserializer = (topic, bytes) -> {
      if (bytes == null) {
        return null;
      }
      try {
        return parser.parseFrom(bytes);
      } catch (InvalidProtocolBufferException e) {
        throw new SerializationException("value: not a " + what + " protobuf (" + bytes.length + " bytes on "
            + topic + "): " + e.getMessage(), e);
      }
    };
    return Serdes.serdeFrom(serializer, deserializer);
  }

  public static Serde<JobSpec> jobSpec() {
    return of(JobSpec.parser(), "stepsize.v1.JobSpec");
  }

  public static Serde<ProbeReport> probeReport() {
    return of(ProbeReport.parser(), "stepsize.v1.ProbeReport");
  }

  public static Serde<Curvature> curvature() {
    return of(Curvature.parser(), "stepsize.v1.Curvature");
  }

  public static Serde<GradientStatsTimeline> gradientStatsTimeline() {
    return of(GradientStatsTimeline.parser(), "stepsize.v1.GradientStatsTimeline");
  }
}
