using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using PeerNet.Dtls;

namespace PeerNet.Integration.Tests.Dtls;

/// <summary>
/// The smallest real driver for a <see cref="DtlsTransport"/>: one UDP socket on 127.0.0.1, one loop
/// thread feeding it datagrams and the monotonic time, sending what it polls out. As server it
/// answers whoever sent the first datagram.
/// </summary>
internal sealed class UdpDtlsDriver : IDisposable
{
    private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
    private readonly Thread _thread;
    private volatile bool _stop;
    private EndPoint? _remote;

    public UdpDtlsDriver(DtlsTransport transport, IPEndPoint? remote)
    {
        Transport = transport;
        _remote = remote;
        _socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _thread = new Thread(Run) { IsBackground = true, Name = "UDP DTLS driver" };
    }

    public DtlsTransport Transport { get; }
    public IPEndPoint LocalEndPoint => (IPEndPoint)_socket.LocalEndPoint!;
    public ConcurrentQueue<byte[]> Received { get; } = new();
    public ConcurrentQueue<DtlsEvent> Events { get; } = new();

    public void Start()
    {
        Transport.Start(Environment.TickCount64);
        _thread.Start();
    }

    public void Send(byte[] data) => Transport.Send(data, Environment.TickCount64);

    public void Close() => Transport.Close(Environment.TickCount64);

    public bool WaitFor(Func<bool> condition, int timeoutMillis = 10_000)
    {
        var watch = Stopwatch.StartNew();
        while (!condition())
        {
            if (watch.ElapsedMilliseconds > timeoutMillis)
                return false;
            Thread.Sleep(5);
        }
        return true;
    }

    private void Run()
    {
        byte[] buffer = new byte[65536];
        byte[] plaintext = new byte[DtlsTransport.MaxApplicationDataSize];
        while (!_stop)
        {
            try
            {
                Flush(buffer);
                long now = Environment.TickCount64;
                long? due = Transport.PollTimeout();
                int waitMicros = (int)Math.Clamp(((due ?? now + 20) - now) * 1000, 0, 20_000);
                if (_socket.Poll(waitMicros, SelectMode.SelectRead))
                {
                    EndPoint from = new IPEndPoint(IPAddress.Any, 0);
                    int length = _socket.ReceiveFrom(buffer, ref from);
                    _remote ??= from;
                    Transport.HandleDatagram(buffer.AsSpan(0, length), Environment.TickCount64);
                }
                now = Environment.TickCount64;
                if (Transport.PollTimeout() is long deadline && deadline <= now)
                    Transport.HandleTimeout(now);
                Flush(buffer);
                while (Transport.TryPollEvent(out DtlsEvent e))
                    Events.Enqueue(e);
                int read;
                while ((read = Transport.ReadApplicationData(plaintext)) >= 0)
                    Received.Enqueue(plaintext[..read]);
            }
            catch (SocketException) when (_stop)
            {
                return;
            }
            catch (SocketException)
            {
                // ICMP port unreachable and the like: the peer is not up (yet), like any UDP application.
            }
            catch (ObjectDisposedException)
            {
                return;
            }
        }
    }

    private void Flush(byte[] buffer)
    {
        int length;
        while ((length = Transport.PollTransmit(buffer)) > 0)
        {
            if (_remote is not null)
                _socket.SendTo(buffer.AsSpan(0, length), SocketFlags.None, _remote);
        }
    }

    public void Dispose()
    {
        _stop = true;
        _thread.Join(2000);
        _socket.Dispose();
        Transport.Dispose();
    }
}
