package io.pgcheckpoint.engine;

import java.util.ArrayList;
import java.util.List;

/**
 * The result of {@code restore}: rows restored per table against the ledger, what was done and
 * what was not restored (warnings). With {@code --plan} ({@code plan} true): the steps the restore
 * would take ({@code actions}), and what would refuse it ({@code blockers}); nothing was changed.
 * Counts that differ are an error too ({@code restore.mismatch}), a refused plan is
 * {@code restore.blocked}; both named in the message. A list cut to fit the termination message
 * notes how many entries it left out ({@code <list>Omitted}).
 */
public record RestoreResult(boolean ok, Boolean plan, String tag, String mode, List<Restorer.TableResult> tables,
                            List<Restorer.Action> actions, List<Restorer.Action> done, List<String> warnings,
                            List<String> blockers, String error, String message, Integer tablesOmitted,
                            Integer actionsOmitted, Integer doneOmitted, Integer warningsOmitted, Integer blockersOmitted,
                            Boolean truncated) implements CommandResult {
    public static final String MISMATCH = "restore.mismatch";
    public static final String BLOCKED = "restore.blocked";
    /** Termination messages of Kubernetes containers are capped at 4 KiB. */
    static final int LIMIT = 4096;

    public static RestoreResult of(Restorer.Report r) {
        List<String> differ = r.tables().stream().filter(t -> !t.matches())
                .map(t -> t.table() + " (" + t.restoredRows() + " rows restored, ledger " + t.ledgerRows() + ")").toList();
        return new RestoreResult(r.allMatch(), null, r.tag(), r.mode(), r.tables(), null, r.done(), r.warnings(), null,
                r.allMatch() ? null : MISMATCH,
                r.allMatch() ? null : "rows restored differ from the ledger for " + String.join(", ", differ),
                null, null, null, null, null, null);
    }

    public static RestoreResult of(Restorer.Plan p) {
        return new RestoreResult(p.ok(), true, p.tag(), p.mode(), null, p.actions(), null, p.warnings(), p.blockers(),
                p.ok() ? null : BLOCKED, p.ok() ? null : String.join("; ", p.blockers()),
                null, null, null, null, null, null);
    }

    public boolean planOnly() {
        return Boolean.TRUE.equals(plan);
    }

    /**
     * Keeps the JSON under the termination-message limit by shortening first what matters least:
     * action details, then the tail of each list (its length noted as "&lt;list&gt;Omitted"), never the verdict.
     */
    @Override
    public RestoreResult shrunk() {
        if (fits(this)) {
            return this;
        }
        String shortMessage = message != null && message.length() > 1500 ? message.substring(0, 1500) + "…" : message;
        RestoreResult smaller = new RestoreResult(ok, plan, tag, mode, tables, withoutDetail(actions), withoutDetail(done), warnings,
                blockers, error, shortMessage, null, null, null, null, null, true);
        for (int keep : new int[] {12, 6, 3, 1, 0}) {
            if (fits(smaller)) {
                break;
            }
            smaller = new RestoreResult(ok, plan, tag, mode, head(smaller.tables, keep), head(smaller.actions, keep),
                    head(smaller.done, keep), head(smaller.warnings, keep), head(smaller.blockers, keep), error, shortMessage,
                    omitted(tables, keep), omitted(actions, keep), omitted(done, keep), omitted(warnings, keep),
                    omitted(blockers, keep), true);
        }
        return smaller;
    }

    private static boolean fits(RestoreResult r) {
        return Json.compact(r).getBytes(java.nio.charset.StandardCharsets.UTF_8).length <= LIMIT;
    }

    private static List<Restorer.Action> withoutDetail(List<Restorer.Action> list) {
        return list == null ? null : list.stream().map(a -> new Restorer.Action(a.what(), a.object(), null)).toList();
    }

    private static <T> List<T> head(List<T> list, int keep) {
        return list == null || list.size() <= keep ? list : new ArrayList<>(list.subList(0, keep));
    }

    private static Integer omitted(List<?> list, int keep) {
        return list == null || list.size() <= keep ? null : list.size() - keep;
    }
}
