//! The counters' database logins, made and revoked by the operator's PC: what a join file
//! carries.

use super::*;

impl ServerStore {
    /// Makes a database login for a new counter, in the counters' group: what a join file
    /// carries.
    pub fn create_counter_login(
        &mut self,
        label: &str,
        now: i64,
    ) -> Result<ServerLogin, StoreError> {
        self.operator_only()?;
        let group = ServerLink::counter_group(&self.link.login.dbname)?;
        let suffix =
            tresen_protocol::textcode::encode_base32(&tresen_protocol::crypto::random_bytes::<5>())
                .to_lowercase();
        let role = format!("{}_c_{suffix}", self.link.login.dbname);
        let password =
            tresen_protocol::encoding::hex(&tresen_protocol::crypto::random_bytes::<24>());
        // The server gets only the SCRAM verifier, so the password is in no statement log.
        // The verifier is base64 and '$'-separated: nothing in it needs quoting.
        let verifier = postgres_protocol::password::scram_sha_256(password.as_bytes());
        self.write(|tx| {
            tx.batch_execute(&format!(
                "CREATE ROLE {role} LOGIN PASSWORD '{verifier}' IN ROLE {group}"
            ))?;
            tx.execute(
                "INSERT INTO counters(role, label, created_at) VALUES ($1, $2, $3)",
                &[&role, &label, &now],
            )?;
            Ok(())
        })?;
        let l = &self.link.login;
        Ok(ServerLogin {
            host: l.host.clone(),
            port: l.port,
            dbname: l.dbname.clone(),
            user: role,
            password,
            ca_pem: l.ca_pem.clone(),
        })
    }

    pub fn counters(&self) -> Result<Vec<CounterRow>, StoreError> {
        self.operator_only()?;
        self.db(|c| {
            Ok(c.query(
                "SELECT role, label, created_at, revoked_at FROM counters ORDER BY created_at",
                &[],
            )?
            .iter()
            .map(|r| CounterRow {
                login: r.get(0),
                name: r.get(1),
                created_at: r.get(2),
                revoked_at: r.get(3),
            })
            .collect())
        })
    }

    /// Takes a counter's login away (a stolen or retired PC): it can no longer connect,
    /// and its open sessions end.
    pub fn revoke_counter(&mut self, role: &str, now: i64) -> Result<bool, StoreError> {
        self.operator_only()?;
        let known = self.db(|c| {
            Ok(c.query_opt(
                "SELECT 1 FROM counters WHERE role = $1 AND revoked_at IS NULL",
                &[&role],
            )?
            .is_some())
        })?;
        if !known {
            return Ok(false);
        }
        link::valid_ident(role)?;
        self.write(|tx| {
            // Ending its sessions needs the operator to hold the role.
            tx.batch_execute(&format!(
                "ALTER ROLE {role} NOLOGIN; GRANT {role} TO CURRENT_USER"
            ))?;
            tx.execute(
                "UPDATE counters SET revoked_at = $2 WHERE role = $1",
                &[&role, &now],
            )?;
            Ok(())
        })?;
        // Only once NOLOGIN is committed: a session ended before that could be replaced by
        // a new login, which NOLOGIN would not end later.
        self.db(|c| {
            for _ in 0..50 {
                let left: i64 = c
                    .query_one(
                        "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity
                         WHERE usename = $1",
                        &[&role],
                    )?
                    .get(0);
                if left == 0 {
                    return Ok(());
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(StoreError::Other(format!(
                "the sessions of {role} did not end; revoke it again"
            )))
        })?;
        Ok(true)
    }
}
