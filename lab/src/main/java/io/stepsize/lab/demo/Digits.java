package io.stepsize.lab.demo;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPInputStream;

/**
 * The UCI optical-digits set (Alpaydin &amp; Kaynak 1998, CC BY 4.0) as shipped by scikit-learn:
 * 1,797 images of 8x8 pixels with values 0..16, shipped in the jar as {@value #RESOURCE}.
 * Pixels are divided by 16 so every feature lies in [0, 1]: the Hessian's scale then does not
 * depend on the pixel encoding, and one lr range suits every model here.
 */
public final class Digits {
  /** Classpath location of the gzip CSV (64 pixels, then the label; no header). */
  public static final String RESOURCE = "/data/digits.csv.gz";
  public static final int PIXELS = 64;
  public static final int CLASSES = 10;
  public static final int SIZE = 1_797;
  static final double MAX_PIXEL = 16;

  private Digits() {}

  /** The whole set from the jar. */
  public static Dataset load() {
    InputStream in = Digits.class.getResourceAsStream(RESOURCE);
    if (in == null) {
      throw new IllegalStateException("resource " + RESOURCE + " is missing from the classpath");
    }
    try (InputStream gz = new GZIPInputStream(in)) {
      return parse(gz);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + RESOURCE, e);
    }
  }

  /** Parses the CSV lines of an (already decompressed) stream; a malformed line names its number. */
  public static Dataset parse(InputStream csv) throws IOException {
    List<double[]> rows = new ArrayList<>(SIZE);
    List<Integer> labels = new ArrayList<>(SIZE);
    BufferedReader reader = new BufferedReader(new InputStreamReader(csv, StandardCharsets.US_ASCII));
    String line;
    int number = 0;
    while ((line = reader.readLine()) != null) {
      number++;
      if (line.isBlank()) {
        continue;
      }
      String[] cells = line.split(",");
      if (cells.length != PIXELS + 1) {
        throw new IOException("line " + number + ": expected " + (PIXELS + 1) + " values, got " + cells.length);
      }
      double[] row = new double[PIXELS];
      try {
        for (int j = 0; j < PIXELS; j++) {
          double v = Integer.parseInt(cells[j].trim());
          if (v < 0 || v > MAX_PIXEL) {
            throw new IOException("line " + number + ": pixel " + j + " = " + v + " outside [0, 16]");
          }
          row[j] = v / MAX_PIXEL;
        }
        labels.add(Integer.parseInt(cells[PIXELS].trim()));
      } catch (NumberFormatException e) {
        throw new IOException("line " + number + ": " + e.getMessage(), e);
      }
      rows.add(row);
    }
    return new Dataset(rows.toArray(new double[0][]), labels.stream().mapToInt(Integer::intValue).toArray(), CLASSES);
  }
}
