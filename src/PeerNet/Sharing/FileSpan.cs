namespace PeerNet.Sharing;

/// <summary>
/// The part of one file that a piece covers: <see cref="Length"/> bytes at <see cref="FileOffset"/>
/// in file <see cref="FileIndex"/> (manifest order) are the bytes at <see cref="PieceOffset"/> in the piece.
/// </summary>
/// <param name="FileIndex">The file's index in the manifest.</param>
/// <param name="FileOffset">Where in the file the range starts.</param>
/// <param name="PieceOffset">Where in the piece's plaintext the range starts.</param>
/// <param name="Length">Bytes in the range (at least 1).</param>
public readonly record struct FileSpan(int FileIndex, long FileOffset, int PieceOffset, int Length);
