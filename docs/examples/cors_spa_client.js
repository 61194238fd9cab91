// The SPA's side: sign in, then read who is signed in, cookies included.
async ([api, user]) => {
  const login = await fetch(`${api}/login`, {
    method: "POST",
    credentials: "include", // store the session cookie the API sets
    headers: { "Content-Type": "application/json" }, // not CORS-safelisted: preflight
    body: JSON.stringify({ user }),
  });
  if (!login.ok) throw new Error(`sign-in failed: ${login.status}`);
  const me = await fetch(`${api}/me`, { credentials: "include" }); // sends the cookie
  return await me.json();
}
