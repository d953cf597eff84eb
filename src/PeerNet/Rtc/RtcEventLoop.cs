using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace PeerNet.Rtc;

/// <summary>
/// Raises a connection's events one at a time, in order, off the network thread: the transport
/// stack posts under its lock and returns at once, and a slow or throwing application handler
/// delays only this connection's events.
/// </summary>
internal sealed class RtcEventLoop
{
    private readonly Channel<Action> _queue = Channel.CreateUnbounded<Action>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ILogger _logger;

    public RtcEventLoop(ILogger logger)
    {
        _logger = logger;
        Completion = Task.Run(RunAsync);
    }

    /// <summary>Completes once <see cref="Complete"/> was called and every queued event ran.</summary>
    public Task Completion { get; }

    public void Post(Action action) => _queue.Writer.TryWrite(action);

    public void Complete() => _queue.Writer.TryComplete();

    private async Task RunAsync()
    {
        await foreach (var action in _queue.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            try
            {
                action();
            }
            catch (Exception e)
            {
                // An application handler threw: it must not kill the connection's event delivery.
                _logger.LogError(e, "an event handler threw");
            }
        }
    }
}
