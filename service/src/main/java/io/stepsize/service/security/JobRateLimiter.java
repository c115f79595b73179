package io.stepsize.service.security;

import com.google.common.cache.CacheBuilder;
import com.google.common.cache.CacheLoader;
import com.google.common.cache.LoadingCache;
import io.github.resilience4j.ratelimiter.RateLimiter;
import io.github.resilience4j.ratelimiter.RateLimiterConfig;
import java.time.Duration;

/**
 * Requests per second per key, a job_id (or a tenant, for {@link TenantRateInterceptor}): a
 * resilience4j limiter per key (a full bucket of N permits each second, so the burst of a trainer's
 * start — CreateJob, a window, a watch — passes), kept in a bounded Guava cache so that a flood of
 * distinct keys cannot grow memory. A request over the
 * rate is refused at once rather than queued: the trainer sees RESOURCE_EXHAUSTED and backs off.
 */
public final class JobRateLimiter {
  private static final int MAX_TRACKED_JOBS = 100_000;

  private final int permitsPerSecond;
  private final LoadingCache<String, RateLimiter> limiters;

  public JobRateLimiter(int permitsPerSecond) {
    if (permitsPerSecond < 1) {
      throw new IllegalArgumentException("rate: must be >= 1 request per second (got " + permitsPerSecond + ")");
    }
    this.permitsPerSecond = permitsPerSecond;
    RateLimiterConfig config = RateLimiterConfig.custom()
        .limitForPeriod(permitsPerSecond)
        .limitRefreshPeriod(Duration.ofSeconds(1))
        .timeoutDuration(Duration.ZERO)
        .build();
    this.limiters = CacheBuilder.newBuilder()
        .maximumSize(MAX_TRACKED_JOBS)
        .expireAfterAccess(Duration.ofMinutes(10))
        .build(CacheLoader.from(job -> RateLimiter.of(job, config)));
  }

  public int permitsPerSecond() {
    return permitsPerSecond;
  }

  /** Takes one permit of the job's if one is available now. */
  public boolean tryAcquire(String jobId) {
    return limiters.getUnchecked(jobId).acquirePermission();
  }
}
