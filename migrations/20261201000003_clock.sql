-- The one clock of delivery and pacing: every statement about when mail is due,
-- leased, paced or counted in the last 24 hours reads mm_now(), not now(). It is
-- now() plus the shift in clock_shift, which is empty in production: only the
-- test control (compiled with the fake-google feature and switched on with
-- TEST_CONTROLS=true) writes it, so tests move time forward for every instance
-- on the database at once instead of sleeping (src/emails/clock.rs).
CREATE TABLE clock_shift (
    id    boolean PRIMARY KEY DEFAULT true CHECK (id),
    shift interval NOT NULL
);

CREATE FUNCTION mm_now() RETURNS timestamptz LANGUAGE sql STABLE AS $$
    SELECT now() + coalesce((SELECT shift FROM clock_shift), interval '0')
$$;
