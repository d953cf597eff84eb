namespace PeerNet.Sharing.Wire;

/// <summary>A wire message could not be parsed; <see cref="Error"/> says why.</summary>
public sealed class ShareWireException : FormatException
{
    /// <summary>Creates the exception for a parse failure.</summary>
    public ShareWireException(ShareWireError error)
        : base($"Malformed sharing wire message: {error}.")
    {
        Error = error;
    }

    /// <summary>Why the message was rejected.</summary>
    public ShareWireError Error { get; }
}
