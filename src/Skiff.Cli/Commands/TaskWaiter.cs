using System.Globalization;
using Skiff.Cli.Client;
using Skiff.Core.Tasks;
using Spectre.Console;

namespace Skiff.Cli.Commands;

/// <summary>
/// Polls a task until it reaches a terminal status, showing where it stands on stderr: a live spinner line in
/// a terminal, one plain line per change otherwise (CI logs, pipes). Then prints the result on stdout.
/// </summary>
internal sealed class TaskWaiter(SkiffClient client, CliEnvironment environment)
{
    private static readonly TimeSpan FirstPoll = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan MaxPoll = TimeSpan.FromSeconds(1);

    /// <summary>Waits, prints the summary and returns the exit code for the task (see <see cref="ExitCodes.ForTask"/>).</summary>
    public async Task<int> WaitAndReportAsync(TaskDocument submitted, CancellationToken cancellationToken)
    {
        TaskDocument finished;
        try
        {
            finished = await WaitAsync(submitted, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping the wait does not stop the task; say how to.
            throw new CliException(
                $"stopped waiting; task {submitted.TaskId} keeps running (skiff status {submitted.TaskId}, skiff cancel {submitted.TaskId})",
                ExitCodes.Cancelled);
        }

        var result = await client.GetResultAsync(finished.TaskId, cancellationToken);
        TaskOutput.WriteSummary(environment.Out, finished, result);
        return ExitCodes.ForTask(finished.Status, result?.ExitCode ?? finished.ExitCode);
    }

    public async Task<TaskDocument> WaitAsync(TaskDocument task, CancellationToken cancellationToken)
    {
        if (IsTerminal(task.Status))
        {
            return task;
        }

        var started = environment.Time.GetTimestamp();
        if (environment.IsErrorTerminal)
        {
            var console = environment.CreateErrorConsole();
            return await console.Status()
                .Spinner(Spinner.Known.Dots)
                .StartAsync(Markup.Escape(Line(task, started)), context => PollAsync(task, started, t => context.Status(Markup.Escape(Line(t, started))), cancellationToken));
        }

        var lastShown = "";
        void ShowChange(TaskDocument t)
        {
            var state = Describe(t);
            if (state != lastShown)
            {
                lastShown = state;
                environment.Error.WriteLine($"{t.TaskId}: {state}");
            }
        }

        ShowChange(task);
        return await PollAsync(task, started, ShowChange, cancellationToken);
    }

    public static bool IsTerminal(string status) => TaskStateNames.TryParse(status, out var state) && state.IsTerminal();

    private async Task<TaskDocument> PollAsync(TaskDocument task, long started, Action<TaskDocument> show, CancellationToken cancellationToken)
    {
        var delay = FirstPoll;
        while (!IsTerminal(task.Status))
        {
            await Task.Delay(delay, environment.Time, cancellationToken);
            delay = TimeSpan.FromTicks(Math.Min(MaxPoll.Ticks, (long)(delay.Ticks * 1.5)));
            task = await client.GetTaskAsync(task.TaskId, cancellationToken);
            show(task);
        }
        return task;
    }

    private string Line(TaskDocument task, long started)
    {
        var elapsed = environment.Time.GetElapsedTime(started);
        return string.Create(CultureInfo.InvariantCulture, $"{task.TaskId}: {Describe(task)} ({elapsed.TotalSeconds:0} s)");
    }

    private static string Describe(TaskDocument task) => task.Status switch
    {
        "running" => $"running (attempt {TaskOutput.Attempts(task)})",
        "retrying" => $"retrying after attempt {TaskOutput.Attempts(task)}" + (string.IsNullOrEmpty(task.Error) ? "" : $": {task.Error}"),
        _ => task.Status,
    };
}
