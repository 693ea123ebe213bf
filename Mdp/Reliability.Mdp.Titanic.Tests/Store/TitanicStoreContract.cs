using Reliability.Mdp.Titanic.Store;
using Reliability.Transport;

namespace Reliability.Mdp.Titanic.Tests.Store;

/// <summary>
/// What every <see cref="ITitanicStore"/> engine must do. An engine's test class derives from this and says how
/// to open a store (a fresh one, and the same one again after closing it).
/// </summary>
public abstract class TitanicStoreContract : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly List<ITitanicStore> _opened = [];

    /// <summary>Opens the store under test: the same storage on every call of one test, empty at the first.</summary>
    private protected abstract Task<ITitanicStore> OpenAsync(int maxRequests);

    /// <summary>Transactions the store has committed so far.</summary>
    private protected abstract long Transactions(ITitanicStore store);

    /// <inheritdoc/>
    public Task InitializeAsync() => Task.CompletedTask;

    /// <inheritdoc/>
    public virtual async Task DisposeAsync()
    {
        foreach (var store in _opened)
        {
            await store.DisposeAsync();
        }
    }

    private protected async Task<ITitanicStore> OpenTrackedAsync(int maxRequests = 1000)
    {
        var store = await OpenAsync(maxRequests);
        _opened.Add(store);
        return store;
    }

    private static string[] Strings(Message message) => Enumerable.Range(0, message.Count).Select(message.GetString).ToArray();

    [Fact]
    public async Task AddRequest_NewRequest_IsPendingWithAFreshId()
    {
        var store = await OpenTrackedAsync();

        string? a = await store.AddRequestAsync("echo", Message.FromStrings("a")).WaitAsync(Timeout);
        string? b = await store.AddRequestAsync("echo", Message.FromStrings("b")).WaitAsync(Timeout);

        a.Should().MatchRegex("^[0-9A-F]{32}$");
        b.Should().NotBe(a);
        (await store.GetReplyAsync(a!).WaitAsync(Timeout)).State.Should().Be(ReplyState.Pending);
        (await store.CountAsync().WaitAsync(Timeout)).Should().Be(2);
    }

    [Fact]
    public async Task GetReply_UnknownId_IsUnknown()
    {
        var store = await OpenTrackedAsync();

        (await store.GetReplyAsync(Tsp.NewId()).WaitAsync(Timeout)).State.Should().Be(ReplyState.Unknown);
    }

    [Fact]
    public async Task AddReply_ThenGetReply_ReturnsTheFramesExactly()
    {
        var store = await OpenTrackedAsync();
        string id = (await store.AddRequestAsync("echo", Message.FromStrings("a")).WaitAsync(Timeout))!;

        (await store.AddReplyAsync(id, Message.FromStrings("x", "", "y"), T0).WaitAsync(Timeout)).Should().BeTrue();

        var lookup = await store.GetReplyAsync(id).WaitAsync(Timeout);
        lookup.State.Should().Be(ReplyState.Answered);
        Strings(lookup.Reply!).Should().Equal("x", "", "y");
    }

    [Fact]
    public async Task AddReply_Twice_KeepsTheFirst()
    {
        var store = await OpenTrackedAsync();
        string id = (await store.AddRequestAsync("echo", Message.FromStrings("a")).WaitAsync(Timeout))!;
        await store.AddReplyAsync(id, Message.FromStrings("first"), T0).WaitAsync(Timeout);

        (await store.AddReplyAsync(id, Message.FromStrings("second"), T0).WaitAsync(Timeout)).Should().BeFalse();

        Strings((await store.GetReplyAsync(id).WaitAsync(Timeout)).Reply!).Should().Equal("first");
    }

    [Fact]
    public async Task AddReply_UnknownId_IsRefused()
    {
        var store = await OpenTrackedAsync();

        (await store.AddReplyAsync(Tsp.NewId(), Message.FromStrings("x"), T0).WaitAsync(Timeout)).Should().BeFalse();
        (await store.CountAsync().WaitAsync(Timeout)).Should().Be(0);
    }

    [Fact]
    public async Task Close_DeletesRequestAndReply_AndUnknownIdIsFine()
    {
        var store = await OpenTrackedAsync();
        string id = (await store.AddRequestAsync("echo", Message.FromStrings("a")).WaitAsync(Timeout))!;
        await store.AddReplyAsync(id, Message.FromStrings("x"), T0).WaitAsync(Timeout);

        await store.CloseAsync(id).WaitAsync(Timeout);
        await store.CloseAsync(id).WaitAsync(Timeout);
        await store.CloseAsync(Tsp.NewId()).WaitAsync(Timeout);

        (await store.GetReplyAsync(id).WaitAsync(Timeout)).State.Should().Be(ReplyState.Unknown);
        (await store.CountAsync().WaitAsync(Timeout)).Should().Be(0);
    }

    [Fact]
    public async Task Claim_OldestFirst_WithTheirBodiesAndAttempts()
    {
        var store = await OpenTrackedAsync();
        var ids = new List<string>();
        for (int i = 0; i < 5; i++)
        {
            ids.Add((await store.AddRequestAsync("svc" + i, Message.FromStrings("body" + i, "")).WaitAsync(Timeout))!);
        }

        var claimed = await store.ClaimAsync(3, T0, T0.AddSeconds(10)).WaitAsync(Timeout);

        claimed.Select(c => c.Id).Should().Equal(ids.Take(3));
        claimed[1].Service.Should().Be("svc1");
        Strings(claimed[1].Body).Should().Equal("body1", "");
        claimed.Should().OnlyContain(c => c.Attempts == 1);
    }

    [Fact]
    public async Task Claim_Leased_NotClaimedAgainUntilTheLeaseRunsOut()
    {
        var store = await OpenTrackedAsync();
        string id = (await store.AddRequestAsync("echo", Message.FromStrings("a")).WaitAsync(Timeout))!;
        await store.ClaimAsync(10, T0, T0.AddSeconds(10)).WaitAsync(Timeout);

        (await store.ClaimAsync(10, T0.AddSeconds(9), T0.AddSeconds(19)).WaitAsync(Timeout)).Should().BeEmpty();

        var again = await store.ClaimAsync(10, T0.AddSeconds(10), T0.AddSeconds(20)).WaitAsync(Timeout);
        again.Should().ContainSingle().Which.Should().Match<StoredRequest>(r => r.Id == id && r.Attempts == 2);
    }

    [Fact]
    public async Task RetryAt_MovesTheLease_ButNotForAnsweredRequests()
    {
        var store = await OpenTrackedAsync();
        string pending = (await store.AddRequestAsync("echo", Message.FromStrings("a")).WaitAsync(Timeout))!;
        string answered = (await store.AddRequestAsync("echo", Message.FromStrings("b")).WaitAsync(Timeout))!;
        var claims = await store.ClaimAsync(10, T0, T0.AddSeconds(10)).WaitAsync(Timeout);
        await store.AddReplyAsync(answered, Message.FromStrings("x"), T0).WaitAsync(Timeout);

        foreach (var claim in claims)
        {
            await store.RetryAtAsync(claim, T0.AddSeconds(1)).WaitAsync(Timeout);
        }

        await store.RetryAtAsync(claims[0] with { Id = Tsp.NewId() }, T0.AddSeconds(1)).WaitAsync(Timeout);

        (await store.ClaimAsync(10, T0.AddSeconds(1), T0.AddSeconds(11)).WaitAsync(Timeout)).Should().ContainSingle().Which.Id.Should().Be(pending);
    }

    [Fact]
    public async Task RetryAt_StaleClaim_LeavesTheNewerLeaseAlone()
    {
        var store = await OpenTrackedAsync();
        await store.AddRequestAsync("echo", Message.FromStrings("a")).WaitAsync(Timeout);
        var first = (await store.ClaimAsync(10, T0, T0.AddSeconds(10)).WaitAsync(Timeout)).Single();
        var second = (await store.ClaimAsync(10, T0.AddSeconds(10), T0.AddSeconds(20)).WaitAsync(Timeout)).Single();

        // The first claim's holder wakes up late and releases "its" request: the second claim must keep it.
        await store.RetryAtAsync(first, T0.AddSeconds(10)).WaitAsync(Timeout);

        (await store.ClaimAsync(10, T0.AddSeconds(11), T0.AddSeconds(21)).WaitAsync(Timeout)).Should().BeEmpty();
        await store.RetryAtAsync(second, T0.AddSeconds(11)).WaitAsync(Timeout);
        (await store.ClaimAsync(10, T0.AddSeconds(11), T0.AddSeconds(21)).WaitAsync(Timeout)).Should().ContainSingle().Which.Attempts.Should().Be(3);
    }

    [Fact]
    public async Task Claim_Answered_IsNeverClaimed()
    {
        var store = await OpenTrackedAsync();
        string id = (await store.AddRequestAsync("echo", Message.FromStrings("a")).WaitAsync(Timeout))!;
        await store.AddReplyAsync(id, Message.FromStrings("x"), T0).WaitAsync(Timeout);

        (await store.ClaimAsync(10, T0.AddDays(1), T0.AddDays(2)).WaitAsync(Timeout)).Should().BeEmpty();
    }

    [Fact]
    public async Task AddRequest_Full_IsRefusedUntilOneIsClosed()
    {
        var store = await OpenTrackedAsync(maxRequests: 2);
        string first = (await store.AddRequestAsync("echo", Message.FromStrings("a")).WaitAsync(Timeout))!;
        await store.AddRequestAsync("echo", Message.FromStrings("b")).WaitAsync(Timeout);

        (await store.AddRequestAsync("echo", Message.FromStrings("c")).WaitAsync(Timeout)).Should().BeNull();

        await store.CloseAsync(first).WaitAsync(Timeout);
        (await store.AddRequestAsync("echo", Message.FromStrings("d")).WaitAsync(Timeout)).Should().NotBeNull();
        (await store.CountAsync().WaitAsync(Timeout)).Should().Be(2);
    }

    [Fact]
    public async Task Expire_DeletesOnlyRepliesOlderThanTheCutoff()
    {
        var store = await OpenTrackedAsync();
        string old = (await store.AddRequestAsync("echo", Message.FromStrings("a")).WaitAsync(Timeout))!;
        string recent = (await store.AddRequestAsync("echo", Message.FromStrings("b")).WaitAsync(Timeout))!;
        string pending = (await store.AddRequestAsync("echo", Message.FromStrings("c")).WaitAsync(Timeout))!;
        await store.AddReplyAsync(old, Message.FromStrings("x"), T0).WaitAsync(Timeout);
        await store.AddReplyAsync(recent, Message.FromStrings("y"), T0.AddMinutes(10)).WaitAsync(Timeout);

        (await store.ExpireAsync(T0.AddMinutes(5)).WaitAsync(Timeout)).Should().Be(1);

        (await store.GetReplyAsync(old).WaitAsync(Timeout)).State.Should().Be(ReplyState.Unknown);
        (await store.GetReplyAsync(recent).WaitAsync(Timeout)).State.Should().Be(ReplyState.Answered);
        (await store.GetReplyAsync(pending).WaitAsync(Timeout)).State.Should().Be(ReplyState.Pending);
        (await store.CountAsync().WaitAsync(Timeout)).Should().Be(2);
    }

    [Fact]
    public async Task Reopen_RequestsRepliesAndLeasesSurvive()
    {
        var store = await OpenAsync(1000);
        string answered = (await store.AddRequestAsync("echo", Message.FromStrings("a")).WaitAsync(Timeout))!;
        string pending = (await store.AddRequestAsync("echo", Message.FromStrings("b")).WaitAsync(Timeout))!;
        await store.AddReplyAsync(answered, Message.FromStrings("x"), T0).WaitAsync(Timeout);
        await store.DisposeAsync();

        var reopened = await OpenTrackedAsync();

        (await reopened.CountAsync().WaitAsync(Timeout)).Should().Be(2);
        Strings((await reopened.GetReplyAsync(answered).WaitAsync(Timeout)).Reply!).Should().Equal("x");
        var claimed = await reopened.ClaimAsync(10, T0, T0.AddSeconds(1)).WaitAsync(Timeout);
        claimed.Should().ContainSingle().Which.Id.Should().Be(pending);
    }

    [Fact]
    public async Task AddRequest_ManyAtOnce_AllStoredWithDistinctIds()
    {
        var store = await OpenTrackedAsync();

        var ids = await Task.WhenAll(Enumerable.Range(0, 300).Select(i => store.AddRequestAsync("echo", Message.FromStrings(i.ToString(System.Globalization.CultureInfo.InvariantCulture))))).WaitAsync(Timeout);

        ids.Should().OnlyHaveUniqueItems().And.NotContainNulls();
        (await store.CountAsync().WaitAsync(Timeout)).Should().Be(300);
        (await store.ClaimAsync(1000, T0, T0.AddSeconds(1)).WaitAsync(Timeout)).Should().HaveCount(300);
    }

    [Fact]
    public async Task AddRequest_ManyAtOnce_ShareTransactions()
    {
        var store = await OpenTrackedAsync(10_000);
        long before = Transactions(store);

        await Task.WhenAll(Enumerable.Range(0, 2000).Select(_ => store.AddRequestAsync("echo", Message.FromStrings("a")))).WaitAsync(Timeout);

        // One transaction per request would be 2000 commits (2000 fsyncs); queued calls ride together.
        (Transactions(store) - before).Should().BeLessThan(200);
        (await store.CountAsync().WaitAsync(Timeout)).Should().Be(2000);
    }
}
