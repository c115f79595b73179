package io.stepsize.bench;

import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The one machine-readable line every benchmark ends with: {@code BENCH <name> key=value ...}, keys in
 * insertion order, doubles with four significant decimals, no spaces inside values, so a script can
 * split on spaces and '='.
 */
public final class BenchLine {
  private final String name;
  private final Map<String, String> values = new LinkedHashMap<>();

  public BenchLine(String name) {
    this.name = name;
  }

  public BenchLine put(String key, long value) {
    values.put(key, Long.toString(value));
    return this;
  }

  public BenchLine put(String key, double value) {
    values.put(key, format(value));
    return this;
  }

  public BenchLine put(String key, boolean value) {
    values.put(key, Boolean.toString(value));
    return this;
  }

  public BenchLine put(String key, String value) {
    values.put(key, value.replace(' ', '_'));
    return this;
  }

  static String format(double v) {
    if (Double.isNaN(v) || Double.isInfinite(v)) {
      return Double.toString(v);
    }
    double a = Math.abs(v);
    if (a != 0 && (a < 1e-3 || a >= 1e9)) {
      return String.format(Locale.ROOT, "%.4e", v);
    }
    return String.format(Locale.ROOT, a >= 1000 ? "%.1f" : "%.4f", v);
  }

  @Override
  public String toString() {
    StringBuilder b = new StringBuilder("BENCH ").append(name);
    values.forEach((k, v) -> b.append(' ').append(k).append('=').append(v));
    return b.toString();
  }

  /** Prints the line and flushes, so it is there even if the JVM is killed during shutdown. */
  public void print(PrintStream out) {
    out.println(this);
    out.flush();
  }
}
