package io.stepsize.service.security;

import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * At most N learning-rate windows in flight on a replica, from the start of their computation until
 * their answer has left the server: a window is the one answer whose size a caller picks, and each
 * in flight holds up to {@link Limits#maxWindowNumbers()} numbers twice (as objects, then as bytes
 * waiting for a slow reader). One over the limit is refused at once rather than queued, so a burst
 * sheds load instead of taking the heap and the health checks with it.
 */
public final class WindowGate {
  private final int permits;
  private final Semaphore inFlight;

  public WindowGate(int permits) {
    if (permits < 1) {
      throw new IllegalArgumentException("max_concurrent_windows: must be >= 1 (got " + permits + ")");
    }
    this.permits = permits;
    this.inFlight = new Semaphore(permits);
  }

  public int permits() {
    return permits;
  }

  /**
   * A permit, released by running the returned handle (once; later runs do nothing), or null when
   * {@link #permits()} windows are in flight.
   */
  public Runnable tryEnter() {
    if (!inFlight.tryAcquire()) {
      return null;
    }
    AtomicBoolean released = new AtomicBoolean();
    return () -> {
      if (!released.getAndSet(true)) {
        inFlight.release();
      }
    };
  }

  /** Windows in flight now. */
  public int inFlight() {
    return permits - inFlight.availablePermits();
  }
}
