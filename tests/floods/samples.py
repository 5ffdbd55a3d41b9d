"""Hand-written ticket floods of the first dedup work (kept for the tests that name them).

Each flood is one incident told by many customers in their own words (same outage,
different wording); the unrelated tickets are the everyday traffic that must stay apart,
including technical near-misses (password reset, 2FA, API errors) and German tickets.
"""

from __future__ import annotations

from smart_support.text import ticket_text

# (subject, body) pairs. One incident: the web login answers 502 Bad Gateway.
EN_LOGIN_OUTAGE: tuple[tuple[str, str], ...] = (
    ("Can't log in", "Since about 9am the login page only shows 502 Bad Gateway."),
    ("Website down?", "Every time I try to sign in I get a 502 error. Is the site down?"),
    ("Login broken", "I get 'Bad Gateway' as soon as I submit my username and password."),
    ("Portal not loading", "Your portal won't let me in, sign-in fails with error 502."),
    (
        "No access to my account",
        "I cannot access my account, the site returns a bad gateway error.",
    ),
    ("Outage?", "Our whole team is locked out this morning, the login gives 502."),
    ("502 on sign-in page", "The sign-in page throws 502 Bad Gateway, cannot reach the dashboard."),
    ("Is the service down", "I keep getting a gateway error when logging in. Please check."),
    (
        "URGENT: nobody can log in",
        "Nobody in our company can log into the platform, 502 errors everywhere.",
    ),
    (
        "Login not working",
        "Login has not worked since this morning, browser shows 502 Bad Gateway.",
    ),
    ("Cannot sign in", "Server error 502 right after I enter my password in the web app."),
    (
        "Platform unreachable",
        "The platform is unreachable, every login attempt ends in a Bad Gateway page.",
    ),
    (
        "HTTP 502 when logging in",
        "Getting HTTP 502 at login. Tried Chrome and Firefox, same result.",
    ),
    ("Service outage", "Login fails for all of our users with a bad gateway message."),
)

# One incident: the mobile app cannot reach the server (German customers).
DE_APP_OUTAGE: tuple[tuple[str, str], ...] = (
    ("App ohne Verbindung", "Die App zeigt seit heute früh 'Keine Verbindung zum Server'."),
    ("Server nicht erreichbar", "Seit 8 Uhr ist der Server über die App nicht erreichbar."),
    (
        "Verbindungsfehler in der App",
        "Beim Öffnen der App kommt nur: Verbindung zum Server fehlgeschlagen.",
    ),
    ("App lädt nicht", "Die mobile App lädt nicht mehr, es heißt immer Server nicht erreichbar."),
    ("Störung?", "Gibt es eine Störung? Unsere App bekommt keine Verbindung zum Server."),
    ("Keine Verbindung", "Die App kann sich nicht mit dem Server verbinden, bei allen Kollegen."),
    (
        "DRINGEND: App funktioniert nicht",
        "Keiner von uns kommt in die App, Fehler: Server nicht erreichbar.",
    ),
    (
        "Fehlermeldung Serververbindung",
        "Ich bekomme in der App dauernd die Meldung, dass der Server nicht antwortet.",
    ),
    (
        "App offline",
        "Die App behauptet, sie sei offline, obwohl das Internet funktioniert. Keine Serververbindung.",
    ),
    (
        "Verbindung zum Server verloren",
        "Seit heute Morgen verliert die App sofort die Verbindung zum Server.",
    ),
    (
        "Ausfall der App",
        "Totalausfall: die App erreicht den Server nicht, weder im WLAN noch mobil.",
    ),
    (
        "Server antwortet nicht",
        "In der App steht 'Server antwortet nicht', auf iPhone und Android.",
    ),
    (
        "App hängt beim Start",
        "Die App hängt beim Start und meldet dann: keine Verbindung zum Server möglich.",
    ),
    ("Serverproblem", "Die App kann keine Verbindung zu Ihrem Server herstellen, bitte prüfen."),
)

# One incident told the way real floods usually are: many customers, one symptom, close
# wording (the login page answers 503 since this morning). English and German versions.
EN_LOGIN_503: tuple[tuple[str, str], ...] = (
    ("Cannot log in", "Since this morning I cannot log in, the login page shows error 503."),
    ("Login page error 503", "The login page returns 503 Service Unavailable since this morning."),
    ("Login not possible", "I can't log in since this morning - login page error 503."),
    ("Error 503 at login", "Since early this morning every login attempt ends with error 503."),
    (
        "Unable to sign in",
        "Unable to sign in since this morning, the login page says 503 Service Unavailable.",
    ),
    ("Login down?", "Is login down? Since this morning I only get a 503 error on the login page."),
    ("503 on login", "Our users cannot log in since this morning, the login page gives a 503."),
    ("Can't log into my account", "Since this morning I can't log into my account, error 503."),
    ("Login page unavailable", "The login page has been unavailable since this morning, 503."),
    ("Login error 503", "Trying to log in since this morning, always error 503 on the login page."),
    ("Cannot access login", "Login fails since this morning: 503 Service Unavailable."),
    ("Login broken since morning", "Login is broken since this morning, the page shows 503."),
    ("Problem logging in", "Problem logging in since this morning, error 503 on the login page."),
    (
        "Service unavailable at login",
        "Login page shows 'Service Unavailable 503' since this morning, cannot log in.",
    ),
)

DE_LOGIN_503: tuple[tuple[str, str], ...] = (
    (
        "Login nicht möglich",
        "Seit heute Morgen kann ich mich nicht einloggen, Login-Seite Fehler 503.",
    ),
    (
        "Fehler 503 beim Login",
        "Die Login-Seite liefert seit heute früh Fehler 503 Service Unavailable.",
    ),
    ("Anmeldung funktioniert nicht", "Seit heute Morgen geht die Anmeldung nicht, Fehler 503."),
    (
        "Kein Login möglich",
        "Kein Login möglich seit heute Morgen, immer Fehler 503 auf der Login-Seite.",
    ),
    ("Login-Seite Fehler 503", "Beim Einloggen kommt seit heute Morgen nur Fehler 503."),
    ("Login ausgefallen?", "Ist der Login ausgefallen? Seit heute Morgen kommt Fehler 503."),
    (
        "Einloggen nicht möglich",
        "Unsere Mitarbeiter können sich seit heute Morgen nicht einloggen, Fehler 503.",
    ),
    ("Kann mich nicht anmelden", "Seit heute früh kann ich mich nicht anmelden, Login meldet 503."),
    (
        "Login-Seite nicht erreichbar",
        "Die Login-Seite ist seit heute Morgen nicht erreichbar, 503.",
    ),
    ("Fehler 503", "Jeder Login-Versuch endet seit heute Morgen mit Fehler 503."),
    ("Login kaputt", "Der Login ist seit heute Morgen kaputt, die Seite zeigt Fehler 503."),
    ("Problem beim Einloggen", "Seit heute Morgen ein Problem beim Einloggen, Fehler 503."),
    (
        "Service Unavailable beim Login",
        "Login-Seite zeigt seit heute Morgen 'Service Unavailable 503', Anmeldung unmöglich.",
    ),
    ("Login gestört", "Seit heute Morgen ist der Login gestört: Fehler 503 beim Anmelden."),
)

# Everyday traffic: billing, legal and other technical issues, English and German.
UNRELATED: tuple[tuple[str, str], ...] = (
    ("Charged twice", "My credit card was charged twice for the March invoice, please refund one."),
    ("VAT number on invoice", "Please add our VAT ID DE123456789 to all future invoices."),
    ("Cancel subscription", "I want to cancel my subscription at the end of the billing period."),
    ("GDPR deletion request", "Under GDPR Article 17 I ask you to delete all my personal data."),
    ("Contract termination", "We give notice to terminate our service contract as of 31 December."),
    (
        "Password reset email missing",
        "I requested a password reset an hour ago but no email arrived.",
    ),
    ("CSV export broken", "The CSV export shows garbled characters instead of umlauts."),
    ("API returns 429", "Our integration gets 429 Too Many Requests after 100 calls a minute."),
    (
        "App crashes on photo upload",
        "The Android app crashes whenever I attach a photo to a report.",
    ),
    ("2FA code not received", "I never receive the SMS code for two-factor authentication."),
    ("Doppelte Abbuchung", "Mir wurde der Monatsbeitrag zweimal vom Konto abgebucht."),
    (
        "Auskunft nach DSGVO",
        "Bitte senden Sie mir eine Auskunft über meine gespeicherten Daten nach Art. 15 DSGVO.",
    ),
    ("Kündigung", "Hiermit kündige ich meinen Vertrag fristgerecht zum Monatsende."),
    (
        "Rechnungsadresse ändern",
        "Bitte ändern Sie die Rechnungsadresse auf unsere neue Firmenanschrift.",
    ),
    (
        "Passwort vergessen",
        "Ich habe mein Passwort vergessen und der Link zum Zurücksetzen funktioniert nicht.",
    ),
)


def texts(pairs: tuple[tuple[str, str], ...]) -> list[str]:
    """Model inputs for (subject, body) pairs, cleaned exactly as at serving time."""
    return [ticket_text(subject, body) for subject, body in pairs]


FLOODS: dict[str, tuple[tuple[str, str], ...]] = {
    "en_login_outage": EN_LOGIN_OUTAGE,
    "de_app_outage": DE_APP_OUTAGE,
    "en_login_503": EN_LOGIN_503,
    "de_login_503": DE_LOGIN_503,
}
