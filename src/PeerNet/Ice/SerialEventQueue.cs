using System.Collections.Concurrent;

namespace PeerNet.Ice;

/// <summary>
/// Runs queued callbacks one at a time, in order, on whichever thread calls <see cref="Drain"/> first —
/// so a driver raises events outside its lock without reordering them across threads.
/// </summary>
internal sealed class SerialEventQueue(Action<Exception> onError)
{
    private readonly ConcurrentQueue<Action> _queue = new();
    private int _draining;

    public void Enqueue(Action action) => _queue.Enqueue(action);

    public void Drain()
    {
        while (!_queue.IsEmpty && Interlocked.CompareExchange(ref _draining, 1, 0) == 0)
        {
            try
            {
                while (_queue.TryDequeue(out var action))
                {
                    try
                    {
                        action();
                    }
                    catch (Exception e)
                    {
                        onError(e);
                    }
                }
            }
            finally
            {
                Volatile.Write(ref _draining, 0);
            }
        }
    }
}
