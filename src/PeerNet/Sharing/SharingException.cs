namespace PeerNet.Sharing;

/// <summary>
/// A sharing failure with a typed reason. Every parser and opener in <c>PeerNet.Sharing</c> reports
/// hostile or malformed input with this exception only (never a cryptographic, JSON or argument
/// exception from inside), so callers can tell bad content from their own bugs.
/// </summary>
public sealed class SharingException : Exception
{
    /// <summary>Creates the exception.</summary>
    public SharingException(SharingErrorCode code, string message, Exception? inner = null)
        : base(message, inner)
    {
        Code = code;
    }

    /// <summary>Why it failed.</summary>
    public SharingErrorCode Code { get; }

    /// <summary>The code as the spec spells it (<c>bad-link</c>, <c>missing-key</c>, ...).</summary>
    public string CodeName => Code switch
    {
        SharingErrorCode.BadLink => "bad-link",
        SharingErrorCode.MissingKey => "missing-key",
        SharingErrorCode.WrongKey => "wrong-key",
        SharingErrorCode.BadManifest => "bad-manifest",
        SharingErrorCode.BadInfo => "bad-info",
        SharingErrorCode.CorruptPiece => "corrupt-piece",
        SharingErrorCode.TooLarge => "too-large",
        SharingErrorCode.UnsafePath => "unsafe-path",
        SharingErrorCode.FileExists => "file-exists",
        SharingErrorCode.SourceChanged => "source-changed",
        SharingErrorCode.PieceNotAvailable => "piece-not-available",
        _ => "unknown",
    };
}
