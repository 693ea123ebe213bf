using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace Reliability.Patterns.LazyPirate;

/// <summary>
/// Builds the Lazy Pirate retry policy as Polly strategies, so it can be combined with others
/// (a circuit breaker outside it, a rate limiter, telemetry) and passed as <see cref="LazyPirateOptions.Pipeline"/>.
/// </summary>
public static class LazyPiratePipelineExtensions
{
    /// <summary>
    /// Adds the default Lazy Pirate strategies: a retry of up to <see cref="LazyPirateOptions.Attempts"/>
    /// tries in total that handles only <see cref="TimeoutRejectedException"/> (other failures are
    /// not the server being slow or gone, so retrying them would only repeat them), with
    /// <see cref="LazyPirateOptions.RetryDelay"/> (doubling up to <see cref="LazyPirateOptions.RetryDelayMax"/>
    /// when set), around a per-attempt timeout of <see cref="LazyPirateOptions.RequestTimeout"/>.
    /// Strategies added before this call wrap the whole request; set the builder's
    /// <see cref="ResiliencePipelineBuilderBase.TimeProvider"/> to drive the timeouts from a test clock.
    /// </summary>
    /// <param name="builder">The builder to add to.</param>
    /// <param name="options">Validated here.</param>
    /// <returns>The same builder, for chaining.</returns>
    /// <exception cref="ArgumentException"><paramref name="options"/> is invalid.</exception>
    public static ResiliencePipelineBuilder AddLazyPirate(this ResiliencePipelineBuilder builder, LazyPirateOptions options)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();

        // Polly's retry needs at least one retry; one attempt in total is just the timeout.
        if (options.Attempts > 1)
        {
            bool exponential = options.RetryDelayMax > options.RetryDelay && options.RetryDelay > TimeSpan.Zero;
            builder.AddRetry(new RetryStrategyOptions
            {
                Name = "LazyPirateRetry",
                MaxRetryAttempts = options.Attempts - 1,
                ShouldHandle = static args => ValueTask.FromResult(args.Outcome.Exception is TimeoutRejectedException),
                Delay = options.RetryDelay,
                BackoffType = exponential ? DelayBackoffType.Exponential : DelayBackoffType.Constant,
                MaxDelay = exponential ? options.RetryDelayMax : null,
                UseJitter = false,
            });
        }

        return builder.AddTimeout(new TimeoutStrategyOptions
        {
            Name = "LazyPirateTimeout",
            Timeout = options.RequestTimeout,
        });
    }
}
