using System.Buffers;

namespace PeerNet.Sharing.Wire;

/// <summary>The outgoing side: control messages first, then the info block, then piece data.</summary>
public sealed partial class ShareWireSession
{
    private readonly Queue<Outgoing> _control = new();

    /// <summary>Whether <see cref="PollTransmit"/> has something to send now.</summary>
    public bool HasTransmit => !_closed && (_control.Count > 0 || (!_closing && (_infoSendOffset >= 0 || NextUpload() is not null)));

    /// <summary>
    /// Writes the next message into <paramref name="destination"/> (at least
    /// <see cref="ShareWireLimits.MaxMessageLength"/> bytes) and returns its length; 0 when there is
    /// nothing to send. Small control messages go before the info block, which goes before piece
    /// data, so requests and cancels never wait behind blocks here. Poll while the channel's
    /// buffered amount is low: the session produces blocks only when asked.
    /// </summary>
    public int PollTransmit(Span<byte> destination)
    {
        if (destination.Length < ShareWireLimits.MaxMessageLength)
        {
            throw new ArgumentException($"The destination must hold {ShareWireLimits.MaxMessageLength} bytes.", nameof(destination));
        }

        if (_closed)
        {
            return 0;
        }

        var written = 0;
        if (_control.TryDequeue(out var next))
        {
            written = Write(next, destination);
            if (next.Type == ShareMessageType.Error)
            {
                MessagesSent++;
                MarkClosed();
                return written;
            }
        }
        else if (_closing)
        {
            return 0;
        }
        else if (_infoSendOffset >= 0)
        {
            var chunk = Math.Min(ShareWireLimits.MaxInfoChunkLength, _infoBlock.Length - _infoSendOffset);
            written = ShareMessageWriter.WriteInfo(destination, _infoBlock.Length, _infoSendOffset, _infoBlock.Span.Slice(_infoSendOffset, chunk));
            _infoSendOffset += chunk;
            if (_infoSendOffset == _infoBlock.Length)
            {
                _infoSendOffset = -1;
            }
        }
        else
        {
            written = WriteUpload(destination);
        }

        if (written > 0)
        {
            MessagesSent++;
        }

        return written;
    }

    private int Write(in Outgoing message, Span<byte> destination)
    {
        switch (message.Type)
        {
            case ShareMessageType.Hello:
                var flags = (ShareHelloFlags)message.Piece;
                var count = (flags & ShareHelloFlags.HasInfo) != 0 ? (uint)_pieceCount : ShareWireLimits.UnknownPieceCount;
                return ShareMessageWriter.WriteHello(destination, _contentId, flags, count, (ushort)_options.MaxRequests);
            case ShareMessageType.Bitfield:
            {
                var n = ShareMessageWriter.WriteBitfield(destination, message.Buffer.AsSpan(0, message.Length));
                ArrayPool<byte>.Shared.Return(message.Buffer!);
                return n;
            }

            case ShareMessageType.Error:
            {
                message.Buffer.AsSpan(0, message.Length).CopyTo(destination);
                ArrayPool<byte>.Shared.Return(message.Buffer!);
                return message.Length;
            }

            case ShareMessageType.Have: return ShareMessageWriter.WriteHave(destination, message.Piece);
            case ShareMessageType.Request: return ShareMessageWriter.WriteRequest(destination, message.Piece);
            case ShareMessageType.Cancel: return ShareMessageWriter.WriteCancel(destination, message.Piece);
            case ShareMessageType.Reject: return ShareMessageWriter.WriteReject(destination, message.Piece);
            default: return ShareMessageWriter.WriteSignal(destination, message.Type);
        }
    }

    private void Enqueue(in Outgoing message, bool force = false)
    {
        if (!CanSend && !force)
        {
            if (message.Buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(message.Buffer);
            }

            return;
        }

        _control.Enqueue(message);
    }

    private void ReleaseControl()
    {
        while (_control.TryDequeue(out var message))
        {
            if (message.Buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(message.Buffer);
            }
        }
    }

    /// <summary>A queued control message: its type, a piece index (or hello flags), or pooled bytes.</summary>
    private readonly struct Outgoing(ShareMessageType type, int piece = 0, byte[]? buffer = null, int length = 0)
    {
        public ShareMessageType Type { get; } = type;

        public int Piece { get; } = piece;

        public byte[]? Buffer { get; } = buffer;

        public int Length { get; } = length;
    }
}
