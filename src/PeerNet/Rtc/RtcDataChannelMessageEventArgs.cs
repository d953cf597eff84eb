using System.Text;

namespace PeerNet.Rtc;

/// <summary>A message that arrived on an <see cref="RtcDataChannel"/> (W3C <c>MessageEvent</c>).</summary>
public sealed class RtcDataChannelMessageEventArgs(byte[] data, bool isText) : EventArgs
{
    /// <summary>The payload: UTF-8 bytes for text messages.</summary>
    public byte[] Data { get; } = data;

    /// <summary>Whether the sender sent a string (PPID 51/56) rather than binary (53/57).</summary>
    public bool IsText { get; } = isText;

    /// <summary>The payload as text (decoded leniently: a peer may send invalid UTF-8).</summary>
    public string Text => Encoding.UTF8.GetString(Data);
}
