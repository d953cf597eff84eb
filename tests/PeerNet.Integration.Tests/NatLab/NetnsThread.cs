using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace PeerNet.Integration.Tests.NatLab;

/// <summary>
/// Runs code on a fresh thread that has joined a named network namespace (setns(2) with
/// CLONE_NEWNET affects only the calling thread). A socket or TUN device created there belongs
/// to that namespace for its whole life, whichever thread later uses it — so the test process
/// can hold sockets inside the lab without starting helper processes.
/// </summary>
internal static class NetnsThread
{
    private const int CloneNewNet = 0x40000000;

    /// <summary>Runs <paramref name="action"/> inside <c>/run/netns/<paramref name="netns"/></c> and returns its result (or rethrows its exception).</summary>
    public static T Run<T>(string netns, Func<T> action)
    {
        T result = default!;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                using (SafeFileHandle handle = File.OpenHandle(Path.Combine("/run/netns", netns), FileMode.Open, FileAccess.Read))
                {
                    if (SetNs((int)handle.DangerousGetHandle(), CloneNewNet) != 0)
                    {
                        throw new IOException($"setns into network namespace '{netns}' failed: errno {Marshal.GetLastPInvokeError()}");
                    }
                }

                result = action();
            }
            catch (Exception e)
            {
                failure = e;
            }
        })
        { IsBackground = true, Name = $"netns {netns}" };
        thread.Start();
        thread.Join();
        if (failure is not null) throw new InvalidOperationException($"in network namespace '{netns}': {failure.Message}", failure);
        return result;
    }

    [DllImport("libc", EntryPoint = "setns", SetLastError = true)]
    private static extern int SetNs(int fd, int nstype);
}
