namespace PeerNet.Ice;

/// <summary>A candidate line that does not follow the grammar of RFC 8839 §5.1.</summary>
public sealed class IceCandidateFormatException : FormatException
{
    /// <summary>Creates the exception for the field that was wrong.</summary>
    public IceCandidateFormatException(string field, string message)
        : base($"Invalid ICE candidate {field}: {message}")
    {
        Field = field;
    }

    /// <summary>Creates the exception without a field.</summary>
    public IceCandidateFormatException()
        : this("line", "malformed")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public IceCandidateFormatException(string message)
        : this("line", message)
    {
    }

    /// <summary>Creates the exception with a message and an inner exception.</summary>
    public IceCandidateFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
        Field = "line";
    }

    /// <summary>The grammar field that was wrong ("foundation", "component", "priority", "address", ...).</summary>
    public string Field { get; }
}
