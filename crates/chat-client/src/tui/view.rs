//! Drawing the state: messages above, the status line, the input line at the
//! bottom. Pure rendering into a ratatui [`Frame`], so tests can draw into a
//! `TestBackend` and snapshot the screen.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::app::{App, ConnState, Entry, Kind};
use super::theme::Theme;

/// The prompt in front of the input line.
const PROMPT: &str = "> ";

/// Draw everything.
pub(crate) fn draw(frame: &mut Frame<'_>, app: &mut App, theme: Theme) {
    let [messages, status, input] = Layout::vertical([
        Constraint::Min(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    draw_messages(frame, messages, app, theme);
    draw_status(frame, status, app, theme);
    draw_input(frame, input, app);
}

/// The scrollback, bottom-aligned, `app.scroll` rows up from the newest line.
fn draw_messages(frame: &mut Frame<'_>, area: Rect, app: &mut App, theme: Theme) {
    let height = usize::from(area.height);
    app.page = height.max(1);
    if area.width == 0 || height == 0 {
        return;
    }
    // Walk back from the newest line until the screen (plus the scrolled-up
    // part) is full.
    let want = height + app.scroll;
    let mut lines = Vec::new();
    let mut rows = 0;
    for entry in app.entries.iter().rev() {
        let line = render_entry(entry, theme);
        rows += Paragraph::new(line.clone())
            .wrap(Wrap { trim: false })
            .line_count(area.width);
        lines.push(line);
        if rows >= want {
            break;
        }
    }
    lines.reverse();
    // Not enough lines to scroll that far: stop at the oldest.
    app.scroll = app.scroll.min(rows.saturating_sub(height));
    let skip = rows.saturating_sub(height + app.scroll);
    let shown = rows.min(height);
    let area = Rect {
        y: area.y + area.height - u16::try_from(shown).unwrap_or(area.height),
        height: u16::try_from(shown).unwrap_or(area.height),
        ..area
    };
    let paragraph = Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .scroll((u16::try_from(skip).unwrap_or(u16::MAX), 0));
    frame.render_widget(paragraph, area);
}

/// One scrollback entry as one (wrappable) line.
pub(crate) fn render_entry(entry: &Entry, theme: Theme) -> Line<'static> {
    let mut spans = Vec::new();
    if !entry.time.is_empty() {
        spans.push(Span::styled(entry.time.clone(), theme.time()));
        spans.push(Span::raw(" "));
    }
    let body = if entry.mention {
        theme.mention()
    } else {
        Style::new()
    };
    match &entry.kind {
        Kind::Chat {
            nick,
            text,
            action,
            own,
        } => {
            let nick_style = if *own {
                theme.own_nick()
            } else {
                theme.nick(nick)
            };
            if *own {
                spans.push(Span::styled("» ", theme.own_mark()));
            }
            if *action {
                spans.push(Span::raw("* "));
                spans.push(Span::styled(nick.clone(), nick_style));
                spans.push(Span::raw(" "));
            } else {
                spans.push(Span::raw("<"));
                spans.push(Span::styled(nick.clone(), nick_style));
                spans.push(Span::raw("> "));
            }
            spans.push(Span::styled(text.clone(), body));
        }
        Kind::Private { nick, text, sent } => {
            let label = if *sent {
                format!("-> *{nick}* ")
            } else {
                format!("*{nick}* ")
            };
            spans.push(Span::styled(label, theme.private()));
            spans.push(Span::styled(text.clone(), body));
        }
        Kind::Operator { name, text } => {
            spans.push(Span::styled(
                format!("-{name}- "),
                Style::new().add_modifier(Modifier::BOLD),
            ));
            spans.push(Span::styled(text.clone(), body));
        }
        Kind::Notice { text, error } => {
            let style = if *error {
                theme.error()
            } else {
                theme.notice()
            };
            spans.push(Span::styled(format!("-!- {text}"), style));
        }
        Kind::Local { text } => {
            spans.push(Span::styled(format!("*** {text}"), theme.notice()));
        }
        Kind::Raw { text } => spans.push(Span::raw(text.clone())),
    }
    Line::from(spans)
}

/// `server │ #room │ nick │ state`, and a note when scrolled up.
fn draw_status(frame: &mut Frame<'_>, area: Rect, app: &App, theme: Theme) {
    let state = match app.conn {
        ConnState::Connected => "connected".to_owned(),
        ConnState::Reconnecting { attempt } => format!("reconnecting (attempt {attempt})"),
        ConnState::Disconnected => "disconnected".to_owned(),
    };
    let room = app
        .room
        .as_deref()
        .map_or_else(|| "-".to_owned(), |room| format!("#{room}"));
    let nick = app.nick.as_deref().unwrap_or("-");
    let mut text = format!(" {} │ {room} │ {nick} │ {state}", app.server);
    if app.scroll > 0 {
        text.push_str(&format!(" │ scrolled up {} (PgDn)", app.scroll));
    }
    frame.render_widget(Paragraph::new(text).style(theme.status()), area);
}

/// The prompt and the input line, scrolled sideways to keep the cursor visible.
fn draw_input(frame: &mut Frame<'_>, area: Rect, app: &App) {
    let prompt_width = u16::try_from(PROMPT.len()).unwrap_or(2);
    let [prompt_area, text_area] =
        Layout::horizontal([Constraint::Length(prompt_width), Constraint::Min(1)]).areas(area);
    frame.render_widget(
        Paragraph::new(Span::styled(
            PROMPT,
            Style::new().add_modifier(Modifier::BOLD),
        )),
        prompt_area,
    );
    // One cell stays free for the cursor after the last character.
    let width = usize::from(text_area.width.saturating_sub(1)).max(1);
    let scroll = app.input.visual_scroll(width);
    frame.render_widget(
        Paragraph::new(app.input.value()).scroll((0, u16::try_from(scroll).unwrap_or(0))),
        text_area,
    );
    let cursor = u16::try_from(app.input.visual_cursor().saturating_sub(scroll)).unwrap_or(0);
    let x = (text_area.x + cursor).min(area.right().saturating_sub(1));
    frame.set_cursor_position(Position::new(x, area.y));
}

#[cfg(test)]
mod tests {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    use super::*;
    use crate::tui::history::History;

    fn screen(app: &mut App, width: u16, height: u16) -> String {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test terminal");
        terminal
            .draw(|frame| draw(frame, app, Theme { colors: true }))
            .expect("draw");
        terminal.backend().to_string()
    }

    fn chat() -> App {
        let mut app = App::new(
            "127.0.0.1:21263".to_owned(),
            "%H:%M".to_owned(),
            History::load(None),
        );
        for line in [
            "[Tue Nov 24 21:03:31 2026] -!- Welcome, guest1! Be nice.",
            "[Tue Nov 24 21:03:31 2026] -!- guest1 joined lobby",
            "[Tue Nov 24 21:03:32 2026] -!- guest1 is now known as alice",
            "[Tue Nov 24 21:04:00 2026] <bob> hi alice, a long line that has to wrap around the edge",
            "[Tue Nov 24 21:04:10 2026] * carol waves",
            "[Tue Nov 24 21:04:20 2026] *bob* psst",
            "[Tue Nov 24 21:04:30 2026] -operator- be good",
            "[Tue Nov 24 21:04:40 2026] -!- error: unknown command /x (try /help)",
            "not a protocol line",
        ] {
            app.on_line(line);
        }
        app
    }

    #[test]
    fn a_chat_screen() {
        let mut app = chat();
        for c in "half typed".chars() {
            app.input.handle(tui_input::InputRequest::InsertChar(c));
        }
        insta::assert_snapshot!("chat_screen", screen(&mut app, 50, 14));
    }

    #[test]
    fn scrolled_up_screen() {
        let mut app = chat();
        app.scroll = 3;
        insta::assert_snapshot!("scrolled_screen", screen(&mut app, 50, 8));
    }

    #[test]
    fn scrolling_stops_at_the_oldest_line() {
        let mut app = chat();
        app.scroll = 1000;
        let _ = screen(&mut app, 50, 8);
        assert!(app.scroll < 20, "{}", app.scroll);
    }

    #[test]
    fn long_input_keeps_the_cursor_visible() {
        let mut app = chat();
        for c in "0123456789".repeat(8).chars() {
            app.input.handle(tui_input::InputRequest::InsertChar(c));
        }
        insta::assert_snapshot!("long_input", screen(&mut app, 40, 5));
    }
}
