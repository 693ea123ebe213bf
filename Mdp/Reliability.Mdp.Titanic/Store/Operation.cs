namespace Reliability.Mdp.Titanic.Store;

/// <summary>One store call waiting for its batch: run inside the transaction, answered after the commit.</summary>
internal abstract class Operation
{
    /// <summary>Does the work inside the open transaction; a damaged stored message fails this call only.</summary>
    public abstract void Run();

    /// <summary>Answers the caller after the commit.</summary>
    public abstract void Complete();

    /// <summary>Fails the caller: the transaction did not commit.</summary>
    public abstract void Fail(Exception error);
}

/// <summary>An <see cref="Operation"/> with a result.</summary>
internal sealed class Operation<T>(Func<T> run) : Operation
{
    private readonly TaskCompletionSource<T> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private T? _result;
    private Exception? _error;

    /// <summary>Completes with the result once the batch committed.</summary>
    public Task<T> Task => _done.Task;

    /// <inheritdoc/>
    public override void Run()
    {
        // A batch that rolled back is run again whole (a deadlock between two nodes): forget the earlier run.
        _error = null;
        try
        {
            _result = run();
        }
        catch (InvalidDataException ex)
        {
            _error = ex;
        }
    }

    /// <inheritdoc/>
    public override void Complete()
    {
        if (_error is not null)
        {
            _done.TrySetException(_error);
        }
        else
        {
            _done.TrySetResult(_result!);
        }
    }

    /// <inheritdoc/>
    public override void Fail(Exception error) => _done.TrySetException(error);
}
