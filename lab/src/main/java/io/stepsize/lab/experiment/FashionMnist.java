package io.stepsize.lab.experiment;

import io.stepsize.lab.demo.Dataset;
import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;

/**
 * Fashion-MNIST (Xiao, Rasul &amp; Vollgraf 2017, Zalando SE, MIT license) read from the IDX files
 * that the Debian package {@code dataset-fashion-mnist} installs under {@value #DEBIAN_DIR}.
 * Pixels are divided by 255 so every feature lies in [0, 1], like {@link io.stepsize.lab.demo.Digits}.
 *
 * <p>IDX: a big-endian int32 magic (2051 for images, 2049 for labels), the counts and dimensions
 * as int32, then unsigned bytes. Files may be gzip-compressed (the package ships them so) or not.
 */
public final class FashionMnist {
  /** Where the Debian package puts the files. */
  public static final String DEBIAN_DIR = "/usr/share/datasets/fashion-mnist";
  public static final int CLASSES = 10;
  public static final int PIXELS = 28 * 28;
  static final int IMAGES_MAGIC = 2051;
  static final int LABELS_MAGIC = 2049;

  private FashionMnist() {}

  /**
   * The first {@code trainLimit} training and {@code testLimit} test examples (the files' order,
   * which is already shuffled across classes).
   *
   * @throws IllegalStateException naming the missing file and how to install it
   * @throws IOException when a file is there but malformed (the message names file and field)
   */
  public static Dataset.Split load(Path dir, int trainLimit, int testLimit) throws IOException {
    Dataset train = load(dir, "train", trainLimit);
    Dataset test = load(dir, "t10k", testLimit);
    return new Dataset.Split(train, test);
  }

  static Dataset load(Path dir, String prefix, int limit) throws IOException {
    Path images = find(dir, prefix + "-images-idx3-ubyte");
    Path labels = find(dir, prefix + "-labels-idx1-ubyte");
    double[][] x = readImages(images, limit);
    int[] y = readLabels(labels, limit);
    if (x.length != y.length) {
      throw new IOException(images + " has " + x.length + " images but " + labels + " has " + y.length + " labels");
    }
    return new Dataset(x, y, CLASSES);
  }

  /** The gzip file, else the plain one, else a message a person can act on. */
  static Path find(Path dir, String base) {
    Path gz = dir.resolve(base + ".gz");
    if (Files.isRegularFile(gz)) {
      return gz;
    }
    Path plain = dir.resolve(base);
    if (Files.isRegularFile(plain)) {
      return plain;
    }
    throw new IllegalStateException("Fashion-MNIST file " + gz + " not found: install the Debian package "
        + "dataset-fashion-mnist (apt-get install dataset-fashion-mnist, files under " + DEBIAN_DIR
        + ") or point --fashion-dir at a folder holding the four IDX files");
  }

  private static DataInputStream open(Path file) throws IOException {
    InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 16);
    if (file.getFileName().toString().endsWith(".gz")) {
      in = new BufferedInputStream(new GZIPInputStream(in, 1 << 16), 1 << 16);
    }
    return new DataInputStream(in);
  }

  static double[][] readImages(Path file, int limit) throws IOException {
    try (DataInputStream in = open(file)) {
      int magic = in.readInt();
      if (magic != IMAGES_MAGIC) {
        throw new IOException(file + ": magic " + magic + ", expected " + IMAGES_MAGIC + " (IDX images)");
      }
      int count = in.readInt();
      int rows = in.readInt();
      int cols = in.readInt();
      if (count < 1 || rows * cols != PIXELS) {
        throw new IOException(file + ": " + count + " images of " + rows + "x" + cols + ", expected 28x28");
      }
      int n = Math.min(count, limit);
      double[][] x = new double[n][PIXELS];
      byte[] buf = new byte[PIXELS];
      for (int i = 0; i < n; i++) {
        in.readFully(buf);
        for (int j = 0; j < PIXELS; j++) {
          x[i][j] = (buf[j] & 0xFF) / 255.0;
        }
      }
      return x;
    } catch (EOFException e) {
      throw new IOException(file + ": truncated (fewer images than its header says)", e);
    }
  }

  static int[] readLabels(Path file, int limit) throws IOException {
    try (DataInputStream in = open(file)) {
      int magic = in.readInt();
      if (magic != LABELS_MAGIC) {
        throw new IOException(file + ": magic " + magic + ", expected " + LABELS_MAGIC + " (IDX labels)");
      }
      int count = in.readInt();
      int n = Math.min(count, limit);
      int[] y = new int[n];
      for (int i = 0; i < n; i++) {
        y[i] = in.readUnsignedByte();
        if (y[i] >= CLASSES) {
          throw new IOException(file + ": label " + y[i] + " at index " + i + " outside [0, 10)");
        }
      }
      return y;
    } catch (EOFException e) {
      throw new IOException(file + ": truncated (fewer labels than its header says)", e);
    }
  }
}
