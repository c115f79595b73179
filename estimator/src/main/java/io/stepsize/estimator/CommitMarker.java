package io.stepsize.estimator;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ByteBufferAccessor;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.requests.RequestHeader;
import org.apache.kafka.common.requests.ResponseHeader;
import org.apache.kafka.common.requests.TransactionResult;
import org.apache.kafka.common.requests.WriteTxnMarkersRequest;
import org.apache.kafka.common.requests.WriteTxnMarkersResponse;

/**
 * Writes the COMMIT marker that a committed transaction never got on one partition: what its
 * coordinator would have written. {@code Admin.abortTransaction} sends the same WriteTxnMarkers
 * request with ABORT; Admin has no commit, so this sends the request itself, over a plaintext
 * connection to the partition's leader (kafka-clients' request classes, the same Kafka version as
 * the broker). Used by {@link HangingTransactions} only when the coordinator says CompleteCommit
 * for exactly the producer and epoch of the open transaction.
 */
final class CommitMarker {
  private static final String CLIENT_ID = "stepsize-hanging-transactions";

  private CommitMarker() {}

  /**
   * @throws IOException when the leader cannot be reached or answered nonsense
   * @throws org.apache.kafka.common.errors.ApiException the leader's error for the partition
   */
  static void write(Node leader, TopicPartition partition, long producerId, short producerEpoch, int coordinatorEpoch,
      Duration timeout) throws IOException {
    // transaction version 0: the marker's epoch is the data's, as Admin's abort sends it
    WriteTxnMarkersRequest request = new WriteTxnMarkersRequest.Builder(List.of(new WriteTxnMarkersRequest.TxnMarkerEntry(
        producerId, producerEpoch, coordinatorEpoch, TransactionResult.COMMIT, List.of(partition), (short) 0)))
        .build(ApiKeys.WRITE_TXN_MARKERS.latestVersion());
    short version = request.version();
    ByteBuffer payload = request.serializeWithHeader(new RequestHeader(ApiKeys.WRITE_TXN_MARKERS, version, CLIENT_ID, 1));
    byte[] bytes = new byte[payload.remaining()];
    payload.get(bytes);
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress(leader.host(), leader.port()), (int) timeout.toMillis());
      socket.setSoTimeout((int) timeout.toMillis());
      DataOutputStream out = new DataOutputStream(socket.getOutputStream());
      out.writeInt(bytes.length);
      out.write(bytes);
      out.flush();
      DataInputStream in = new DataInputStream(socket.getInputStream());
      byte[] answer = new byte[in.readInt()];
      in.readFully(answer);
      ByteBuffer buffer = ByteBuffer.wrap(answer);
      ResponseHeader.parse(buffer, ApiKeys.WRITE_TXN_MARKERS.responseHeaderVersion(version));
      WriteTxnMarkersResponse response = WriteTxnMarkersResponse.parse(new ByteBufferAccessor(buffer), version);
      Map<TopicPartition, Errors> errors = response.errorsByProducerId().get(producerId);
      Errors error = errors == null ? null : errors.get(partition);
      if (error == null) {
        throw new IOException("WriteTxnMarkers: no answer for " + partition + " producer " + producerId);
      }
      if (error != Errors.NONE) {
        throw error.exception();
      }
    }
  }
}
