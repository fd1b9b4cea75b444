using Microsoft.Extensions.Time.Testing;
using Offload.Actions;
using Offload.Policy;
using Offload.Policy.Git;
using Offload.Tests.Datapath;
using Offload.Tests.Switching;
using static Offload.Tests.Policy.Git.GitPolicySourceTests;

namespace Offload.Tests.Policy.Git;

public sealed class GitPolicyTrackerTests : IDisposable
{
    private readonly TempGitRepository _repo = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero));
    private readonly PolicyStore _store = new();
    private readonly List<IDisposable> _owned = new();

    public void Dispose()
    {
        for (int i = _owned.Count - 1; i >= 0; i--)
            _owned[i].Dispose();
        _repo.Dispose();
    }

    private GitPolicyTracker Tracker(IPolicyTarget? target = null, GitPolicyTrackerOptions? options = null)
    {
        var source = GitPolicySource.Open(new GitPolicySourceOptions { Repository = _repo.Path });
        var tracker = new GitPolicyTracker(source, target ?? new PolicyStorePolicyTarget(_store), options, _time);
        _owned.Add(source);
        _owned.Add(tracker);
        return tracker;
    }

    private static string Digest(string yaml) => SwitchTestBed.Load(yaml).Digest;

    [Fact]
    public async Task CheckNow_FirstCommit_AppliesAndRecordsInitial()
    {
        var first = _repo.CommitPolicy("first", Good);
        var tracker = Tracker();

        var result = await tracker.CheckNowAsync();

        result.Status.Should().Be(GitPolicyCheckStatus.Applied);
        _store.Current!.Digest.Should().Be(Digest(Good));
        var entry = tracker.Current!;
        entry.Commit.Sha.Should().Be(first.Sha);
        entry.Kind.Should().Be(GitPolicyApplyKind.Initial);
        entry.AppliedAt.Should().Be(_time.GetUtcNow());
        entry.PolicyChanged.Should().BeTrue();
        entry.Digest.Should().Be(Digest(Good));
        tracker.History.Should().Equal(entry);
    }

    [Fact]
    public async Task CheckNow_RefNotMoved_UnchangedAndNoNewHistory()
    {
        _repo.CommitPolicy("first", Good);
        var tracker = Tracker();
        await tracker.CheckNowAsync();

        var again = await tracker.CheckNowAsync();

        again.Status.Should().Be(GitPolicyCheckStatus.Unchanged);
        tracker.History.Should().ContainSingle();
        _store.Current!.Generation.Should().Be(1);
    }

    [Fact]
    public async Task CheckNow_BadCommit_RejectedWithPathErrorLastGoodStaysAndNotRetried()
    {
        var good = _repo.CommitPolicy("good", Good);
        var tracker = Tracker();
        await tracker.CheckNowAsync();
        var bad = _repo.CommitPolicy("typo in backend", BadBackend);

        var result = await tracker.CheckNowAsync();

        result.Status.Should().Be(GitPolicyCheckStatus.Rejected);
        result.Rejected!.Commit.Sha.Should().Be(bad.Sha);
        result.Rejected.Errors.Should().Contain(e => e.Path == "loadBalancers[0].backends[0].ip");
        tracker.LastRejected.Should().BeSameAs(result.Rejected);
        tracker.Current!.Commit.Sha.Should().Be(good.Sha, "the last good commit stays in force");
        _store.Current!.Digest.Should().Be(Digest(Good));
        tracker.History.Should().ContainSingle();

        var retried = await tracker.CheckNowAsync();
        retried.Status.Should().Be(GitPolicyCheckStatus.Unchanged, "the same bad commit is not tried again every poll");

        var fixedCommit = _repo.CommitPolicy("fix backend", GoodMoved);
        var fixedResult = await tracker.CheckNowAsync();
        fixedResult.Status.Should().Be(GitPolicyCheckStatus.Applied);
        fixedResult.Applied!.Commit.Sha.Should().Be(fixedCommit.Sha);
        fixedResult.Applied.Kind.Should().Be(GitPolicyApplyKind.Update);
        _store.Current!.Digest.Should().Be(Digest(GoodMoved));
    }

    [Fact]
    public async Task CheckNow_FirstCommitBad_RejectedAndNothingInForce()
    {
        _repo.CommitPolicy("bad from the start", BadBackend);
        var tracker = Tracker();

        (await tracker.CheckNowAsync()).Status.Should().Be(GitPolicyCheckStatus.Rejected);

        tracker.Current.Should().BeNull();
        _store.Current.Should().BeNull();
    }

    [Fact]
    public async Task RunAsync_NewCommit_PickedUpAtTheNextPoll()
    {
        _repo.CommitPolicy("first", Good);
        var tracker = Tracker(options: new GitPolicyTrackerOptions { PollInterval = TimeSpan.FromSeconds(30) });
        var applied = new TaskCompletionSource<GitPolicyHistoryEntry>(TaskCreationOptions.RunContinuationsAsynchronously);
        int checks = 0;
        tracker.Checked += (_, e) =>
        {
            Interlocked.Increment(ref checks);
            if (e.Result.Applied is { Kind: GitPolicyApplyKind.Update } entry)
                applied.TrySetResult(entry);
        };
        using var cts = new CancellationTokenSource();
        var run = tracker.RunAsync(cts.Token);
        SpinWait.SpinUntil(() => Volatile.Read(ref checks) >= 1, TimeSpan.FromSeconds(10)).Should().BeTrue("the first check runs at once");
        var second = _repo.CommitPolicy("second", GoodMoved);

        _time.Advance(TimeSpan.FromSeconds(30));
        var entry = await applied.Task.WaitAsync(TimeSpan.FromSeconds(10));

        entry.Commit.Sha.Should().Be(second.Sha);
        _store.Current!.Digest.Should().Be(Digest(GoodMoved));
        await cts.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(10));
        run.IsCompletedSuccessfully.Should().BeTrue("cancelling stops the loop without an exception");
    }

    [Fact]
    public async Task CheckNow_VirtualSwitch_HistoryRecordsConnectionsUpdatedAndRemoved()
    {
        using var bed = new SwitchTestBed();
        var first = _repo.CommitPolicy("first", Good);
        var tracker = Tracker(new VirtualSwitchPolicyTarget(bed.Switch));
        var initial = (await tracker.CheckNowAsync()).Applied!;
        initial.Commit.Sha.Should().Be(first.Sha);
        initial.PolicyChanged.Should().BeFalse("the switch already runs this policy");
        bed.From("vm1", TestFrames.Tcp("10.1.0.1", 45000, "10.1.0.2", 80, syn: true, srcMac: SwitchTestBed.Vm1));
        bed.From("vm1", TestFrames.Tcp("10.1.0.1", 45001, "10.1.0.3", 80, syn: true, srcMac: SwitchTestBed.Vm1));
        bed.From("vm1", TestFrames.Udp("10.1.0.1", 46000, "198.51.100.7", 53, srcMac: SwitchTestBed.Vm1));
        _time.Advance(TimeSpan.FromMinutes(5));
        var change = _repo.CommitPolicy("deny web on vm2, vm3 has a new NIC", DenyVm2WebAndMoveVm3);

        var result = await tracker.CheckNowAsync();

        var entry = result.Applied!;
        entry.Commit.Sha.Should().Be(change.Sha);
        entry.AppliedAt.Should().Be(_time.GetUtcNow());
        entry.PolicyChanged.Should().BeTrue();
        entry.Revalidation!.Checked.Should().Be(3);
        entry.ConnectionsRemoved.Should().Be(1);
        entry.ConnectionsUpdated.Should().Be(1);
        bed.Switch.Policy.Digest.Should().Be(Digest(DenyVm2WebAndMoveVm3));
        bed.From("vm1", TestFrames.Tcp("10.1.0.1", 45000, "10.1.0.2", 80, ack: true, srcMac: SwitchTestBed.Vm1)).Result.Verdict
            .Should().Be(ActionVerdict.Drop);
        tracker.History.Select(h => h.Commit.Sha).Should().Equal(first.Sha, change.Sha);
    }

    internal static readonly string DenyVm2WebAndMoveVm3 = SwitchTestBed.PolicyYaml
        .Replace("dstPorts: \"22\" }", "dstPorts: \"22\" }\n    - { priority: 200, action: deny, direction: egress, network: blue, dst: 10.1.0.2/32, protocol: tcp, dstPorts: \"80\" }")
        .Replace("02:00:00:01:00:03", "02:00:00:01:00:33");

    [Fact]
    public async Task Rollback_EarlierCommit_AppliesItsPolicyAndHoldsUntilTheRefMoves()
    {
        var a = _repo.CommitPolicy("a", Good);
        var tracker = Tracker();
        await tracker.CheckNowAsync();
        var b = _repo.CommitPolicy("b", GoodMoved);
        await tracker.CheckNowAsync();
        _time.Advance(TimeSpan.FromHours(1));

        var rollback = await tracker.RollbackAsync(a.Sha);

        rollback.Status.Should().Be(GitPolicyCheckStatus.Applied);
        rollback.Applied!.Kind.Should().Be(GitPolicyApplyKind.Rollback);
        rollback.Applied.Commit.Sha.Should().Be(a.Sha);
        rollback.Applied.AppliedAt.Should().Be(_time.GetUtcNow());
        _store.Current!.Digest.Should().Be(Digest(Good));
        (await tracker.CheckNowAsync()).Status.Should().Be(GitPolicyCheckStatus.Unchanged, "the rollback holds while the ref still names b");
        _store.Current!.Digest.Should().Be(Digest(Good));

        var c = _repo.CommitPolicy("c", DenyVm2WebAndMoveVm3);
        (await tracker.CheckNowAsync()).Applied!.Commit.Sha.Should().Be(c.Sha);

        tracker.History.Select(h => (h.Commit.Sha, h.Kind)).Should().Equal(
            (a.Sha, GitPolicyApplyKind.Initial), (b.Sha, GitPolicyApplyKind.Update),
            (a.Sha, GitPolicyApplyKind.Rollback), (c.Sha, GitPolicyApplyKind.Update));
    }

    [Fact]
    public async Task Rollback_ToBadCommit_RejectedAndCurrentStays()
    {
        var bad = _repo.CommitPolicy("bad", BadBackend);
        var good = _repo.CommitPolicy("good", Good);
        var tracker = Tracker();
        await tracker.CheckNowAsync();

        var result = await tracker.RollbackAsync(bad.Sha);

        result.Status.Should().Be(GitPolicyCheckStatus.Rejected);
        result.Rejected!.Errors.Should().Contain(e => e.Path == "loadBalancers[0].backends[0].ip");
        tracker.Current!.Commit.Sha.Should().Be(good.Sha);
        _store.Current!.Digest.Should().Be(Digest(Good));
    }

    [Fact]
    public async Task Rollback_UnknownCommit_FailedAndNothingChanges()
    {
        _repo.CommitPolicy("good", Good);
        var tracker = Tracker();
        await tracker.CheckNowAsync();

        var result = await tracker.RollbackAsync("0123456789abcdef0123456789abcdef01234567");

        result.Status.Should().Be(GitPolicyCheckStatus.Failed);
        result.Failure.Should().Contain("names no commit");
        tracker.History.Should().ContainSingle();
    }

    [Fact]
    public async Task CheckNow_CommitNotTouchingPolicy_RecordedWithoutApplying()
    {
        _repo.CommitPolicy("policy", Good);
        var tracker = Tracker();
        await tracker.CheckNowAsync();
        var docs = _repo.Commit("docs", ("README.md", "how to change the policy"));

        var entry = (await tracker.CheckNowAsync()).Applied!;

        entry.Commit.Sha.Should().Be(docs.Sha);
        entry.PolicyChanged.Should().BeFalse();
        entry.Revalidation.Should().BeNull();
        _store.Current!.Generation.Should().Be(1, "the same content is not applied again");
    }

    [Fact]
    public async Task History_BeyondMaxHistory_KeepsTheNewest()
    {
        _repo.CommitPolicy("1", Good);
        var tracker = Tracker(options: new GitPolicyTrackerOptions { MaxHistory = 2 });
        await tracker.CheckNowAsync();
        var second = _repo.CommitPolicy("2", GoodMoved);
        await tracker.CheckNowAsync();
        var third = _repo.CommitPolicy("3", Good);
        await tracker.CheckNowAsync();

        tracker.History.Select(h => h.Commit.Sha).Should().Equal(second.Sha, third.Sha);
    }

    [Fact]
    public async Task CheckNow_CloneWhoseRemoteIsGone_FailedThenRetried()
    {
        var first = _repo.CommitPolicy("first", Good);
        string cache = Directory.CreateTempSubdirectory("offload-git-cache-").FullName;
        string origin = _repo.Path;
        string moved = origin + "-moved";
        try
        {
            using var source = GitPolicySource.Open(new GitPolicySourceOptions { Repository = _repo.FileUrl, CacheDirectory = cache });
            using var tracker = new GitPolicyTracker(source, new PolicyStorePolicyTarget(_store), timeProvider: _time);
            (await tracker.CheckNowAsync()).Status.Should().Be(GitPolicyCheckStatus.Applied);
            var second = _repo.CommitPolicy("second", GoodMoved);
            Directory.Move(origin, moved);

            var failed = await tracker.CheckNowAsync();

            failed.Status.Should().Be(GitPolicyCheckStatus.Failed);
            failed.Failure.Should().Contain("fetch failed");
            tracker.Current!.Commit.Sha.Should().Be(first.Sha);
            Directory.Move(moved, origin);
            (await tracker.CheckNowAsync()).Applied!.Commit.Sha.Should().Be(second.Sha, "a failed check is retried");
        }
        finally
        {
            if (Directory.Exists(moved))
                Directory.Move(moved, origin);
            TempGitRepository.DeleteTree(cache);
        }
    }

    [Fact]
    public async Task CheckNow_VirtualSwitchWithDispatch_RunsTheChangeThroughIt()
    {
        using var bed = new SwitchTestBed();
        _repo.CommitPolicy("moved", GoodMoved);
        int dispatched = 0;
        var target = new VirtualSwitchPolicyTarget(bed.Switch, (work, _) =>
        {
            dispatched++;
            return new ValueTask<Offload.Datapath.RevalidationResult>(work());
        });
        var tracker = Tracker(target);

        var entry = (await tracker.CheckNowAsync()).Applied!;

        dispatched.Should().Be(1);
        entry.PolicyChanged.Should().BeTrue();
        entry.Revalidation.Should().NotBeNull();
        bed.Switch.Policy.Digest.Should().Be(Digest(GoodMoved));
    }

    [Fact]
    public async Task CheckNow_TargetThrows_FailedCurrentStaysAndRetried()
    {
        _repo.CommitPolicy("good", Good);
        var flaky = new FlakyTarget(_store);
        var tracker = Tracker(flaky);
        await tracker.CheckNowAsync();
        var next = _repo.CommitPolicy("moved", GoodMoved);
        flaky.FailNext = true;

        var failed = await tracker.CheckNowAsync();

        failed.Status.Should().Be(GitPolicyCheckStatus.Failed);
        failed.Failure.Should().Contain("device busy");
        _store.Current!.Digest.Should().Be(Digest(Good));
        var retried = (await tracker.CheckNowAsync()).Applied!;
        retried.Commit.Sha.Should().Be(next.Sha, "a failed apply is retried by the next check");
        retried.PolicyChanged.Should().BeTrue();
        flaky.Applied.Should().Be(3, "the first commit, the failed try, the retry");
    }

    [Fact]
    public async Task CheckNow_TargetThrewAfterSwapping_AppliedAgainNotSkipped()
    {
        _repo.CommitPolicy("good", Good);
        var flaky = new FlakyTarget(_store) { SwapBeforeFailing = true };
        var tracker = Tracker(flaky);
        await tracker.CheckNowAsync();
        _repo.CommitPolicy("moved", GoodMoved);
        flaky.FailNext = true;
        (await tracker.CheckNowAsync()).Status.Should().Be(GitPolicyCheckStatus.Failed);
        _store.Current!.Digest.Should().Be(Digest(GoodMoved), "this target swapped before it failed");

        var retried = (await tracker.CheckNowAsync()).Applied!;

        retried.PolicyChanged.Should().BeTrue("a half-done apply is done again, not skipped as already in force");
        flaky.Applied.Should().Be(3);
    }

    private sealed class FlakyTarget(PolicyStore store) : IPolicyTarget
    {
        private readonly PolicyStorePolicyTarget _inner = new(store);

        public bool FailNext { get; set; }

        public bool SwapBeforeFailing { get; init; }

        public int Applied { get; private set; }

        public PolicySnapshot? Current => _inner.Current;

        public ValueTask<PolicyApplyOutcome> ApplyAsync(PolicySnapshot policy, CancellationToken cancellationToken)
        {
            Applied++;
            if (!FailNext)
                return _inner.ApplyAsync(policy, cancellationToken);
            FailNext = false;
            if (SwapBeforeFailing)
                _ = _inner.ApplyAsync(policy, cancellationToken);
            throw new InvalidOperationException("device busy");
        }
    }
}
