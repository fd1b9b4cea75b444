namespace Offload.Policy.Git;

/// <summary>Options of <see cref="GitPolicyTracker"/>.</summary>
public sealed class GitPolicyTrackerOptions
{
    /// <summary>How often <see cref="GitPolicyTracker.RunAsync"/> checks the repository.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>History entries kept (the oldest are dropped beyond this).</summary>
    public int MaxHistory { get; set; } = 1000;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        if (PollInterval <= TimeSpan.Zero)
            throw new ArgumentException("PollInterval must be positive.", nameof(PollInterval));
        if (MaxHistory < 1)
            throw new ArgumentException("MaxHistory must be at least 1.", nameof(MaxHistory));
    }
}
