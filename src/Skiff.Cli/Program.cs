using System.Runtime.InteropServices;
using Skiff.Cli;

// The first SIGINT/SIGTERM cancels the running verb (the server drains, a wait stops); a second one is not
// intercepted and ends the process the default way.
using var stop = new CancellationTokenSource();
void OnSignal(PosixSignalContext context)
{
    if (!stop.IsCancellationRequested)
    {
        context.Cancel = true;
        stop.Cancel();
    }
}

using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);

return await new SkiffCli(CliEnvironment.FromConsole()).RunAsync(args, stop.Token);
