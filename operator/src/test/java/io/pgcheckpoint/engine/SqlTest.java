package io.pgcheckpoint.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The lexer reads names exactly as pg_dump writes them, and splits scripts the way psql does. */
class SqlTest {
    @Test
    void namesAreReadQuoteAware() {
        List<Sql.Token> t = Sql.tokens("ALTER TABLE ONLY \"My Schema\".\"Odd \"\"x\"\"\" ATTACH PARTITION public.\"Part.1\" DEFAULT;");
        Sql.Name parent = Sql.name(t, 3);
        assertEquals(List.of("My Schema", "Odd \"x\""), parent.parts());
        Sql.Name child = Sql.name(t, parent.nextToken() + 2);
        assertEquals(List.of("public", "Part.1"), child.parts());
        assertEquals(List.of("public", "orders"), Sql.name(Sql.tokens("PUBLIC.Orders"), 0).parts(), "bare words fold to lower case");
    }

    @Test
    void semicolonsInsideQuotesCommentsAndParenthesesDoNotEndAStatement() {
        List<String> statements = new ArrayList<>();
        List<String> between = new ArrayList<>();
        Sql.Splitter s = new Sql.Splitter(new Sql.Splitter.Sink() {
            @Override
            public void statement(String sql) {
                statements.add(sql);
            }

            @Override
            public void between(String line) {
                between.add(line);
            }

            @Override
            public void meta(String line) {
                between.add("META " + line);
            }
        });
        for (String line : """
                \\restrict abc
                -- TOC entry 1 (class 1259 OID 2)
                CREATE FUNCTION f() RETURNS text LANGUAGE sql AS $fn$ SELECT 'a;b' $fn$;
                COMMENT ON TABLE public.t IS 'it''s; fine';
                CREATE RULE r AS ON INSERT TO public.t DO INSTEAD (INSERT INTO public.a VALUES (1); INSERT INTO public.b VALUES (2));
                SELECT E'\\'; still a string', "odd;name" /* ; */ FROM x; SELECT 2;
                """.split("\n")) {
            s.line(line);
        }
        assertEquals(5, statements.size(), statements.toString());
        assertTrue(statements.get(2).endsWith("VALUES (2));"));
        assertEquals("SELECT 2;", statements.get(4));
        assertEquals("META \\restrict abc", between.get(0));
        assertEquals("-- TOC entry 1 (class 1259 OID 2)", between.get(1));
    }

    @Test
    void stringValuesAndNextvalTargets() {
        List<Sql.Token> t = Sql.tokens("ALTER TABLE ONLY public.t ALTER COLUMN id SET DEFAULT nextval('\"S\".\"seq''s\"'::regclass);");
        assertEquals(List.of(new ArchiveSchema.QName("S", "seq's")), ArchiveSchema.nextvals(t));
    }
}
