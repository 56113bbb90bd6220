// The login form: trades the token for an HttpOnly session cookie, then reloads.
"use strict";
document.getElementById("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  const error = document.getElementById("login-error");
  error.className = "flash bad"; error.textContent = "";
  const response = await fetch("/api/session", {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-LogMonitor": "1" },
    body: JSON.stringify({ token: document.getElementById("token").value }),
  });
  if (response.ok) { window.location.reload(); return; }
  const body = await response.json().catch(() => ({}));
  error.textContent = body.error ? body.error.message : response.statusText;
});
