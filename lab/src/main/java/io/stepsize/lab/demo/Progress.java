package io.stepsize.lab.demo;

import java.io.PrintWriter;

/**
 * What the demo says while it runs, on stderr. On a terminal, a bar redrawn in place with
 * {@code \r} ({@code [#####.....]  512/1000  lr=… phi=…}); elsewhere (a log file, a CI job, tests)
 * one line per stage, because carriage returns in a file are noise. Redraws are throttled so a fast
 * loop does not spend its time printing.
 */
public final class Progress {
  private static final int WIDTH = 30;
  private static final long REDRAW_NANOS = 50_000_000L;

  private final PrintWriter out;
  private final boolean bar;
  private String label = "";
  private long total = 1;
  private long lastDraw;
  private long started = System.nanoTime();
  private int lastLength;
  private boolean open;

  /** @param bar draw the in-place bar (a terminal); otherwise print stage lines only */
  public Progress(PrintWriter out, boolean bar) {
    this.out = out;
    this.bar = bar;
  }

  /** Prints nothing at all (library use). */
  public static Progress silent() {
    return new Progress(new PrintWriter(PrintWriter.nullWriter()), false);
  }

  /** A one-line message between stages. */
  public synchronized void note(String message) {
    clearBar();
    out.println(message);
    out.flush();
  }

  /** Begins a stage of {@code total} units. */
  public synchronized void start(String stageLabel, long stageTotal) {
    clearBar();
    label = stageLabel;
    total = Math.max(1, stageTotal);
    lastDraw = 0;
    started = System.nanoTime();
    if (bar) {
      open = true;
      draw(0, "");
    } else {
      out.println(stageLabel + " ...");
      out.flush();
    }
  }

  /** {@code done} of the stage's units are done; {@code status} is shown after the bar. */
  public synchronized void update(long done, String status) {
    if (!bar || !open) {
      return;
    }
    long now = System.nanoTime();
    if (done < total && now - lastDraw < REDRAW_NANOS) {
      return;
    }
    lastDraw = now;
    draw(done, status);
  }

  /** Ends the stage with a summary line and the stage's time. */
  public synchronized void finish(String summary) {
    if (bar && open) {
      draw(total, "");
      out.print('\n');
      open = false;
      lastLength = 0;
    }
    String took = String.format(java.util.Locale.ROOT, "%.1f s", (System.nanoTime() - started) / 1e9);
    out.println("  " + (summary.isEmpty() ? took : summary + " (" + took + ")"));
    out.flush();
  }

  private void draw(long done, String status) {
    int filled = (int) Math.min(WIDTH, done * WIDTH / total);
    StringBuilder line = new StringBuilder(120);
    line.append('\r').append(label).append(" [");
    for (int i = 0; i < WIDTH; i++) {
      line.append(i < filled ? '#' : '.');
    }
    line.append("] ").append(done).append('/').append(total);
    if (!status.isEmpty()) {
      line.append("  ").append(status);
    }
    int visible = line.length() - 1;
    // pad over the rest of a longer previous line
    for (int i = visible; i < lastLength; i++) {
      line.append(' ');
    }
    lastLength = visible;
    out.print(line);
    out.flush();
  }

  private void clearBar() {
    if (bar && open) {
      out.print('\n');
      open = false;
      lastLength = 0;
    }
  }
}
