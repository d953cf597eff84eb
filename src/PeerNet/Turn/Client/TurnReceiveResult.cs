namespace PeerNet.Turn;

/// <summary>What <see cref="TurnClient.HandleReceived"/> made of a message from the server.</summary>
public enum TurnReceiveResult : byte
{
    /// <summary>A control message (a response) was handled; nothing to deliver.</summary>
    Handled,

    /// <summary>Data from a peer (a Data indication or ChannelData): deliver it.</summary>
    Data,

    /// <summary>Malformed, unexpected, unauthenticated or for an unknown channel: ignored and counted.</summary>
    Dropped,
}
