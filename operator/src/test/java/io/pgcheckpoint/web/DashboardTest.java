package io.pgcheckpoint.web;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgcheckpoint.api.Checkpoint;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The dashboard in a real headless Chromium (Debian's chromium and chromium-driver, nothing
 * downloaded) against the API on a real kube-apiserver: sign in with a token, see the Database,
 * press Back up now, watch it go Proven with its ledger, read a Failed checkpoint's message, and
 * see what a read-only user and a bad token get. Screenshots go to target/screenshots.
 */
class DashboardTest {
    static final Path SCREENSHOTS = Path.of("target", "screenshots");
    static ApiCluster cluster;
    WebDriver browser;
    WebDriverWait wait;

    @BeforeAll
    static void start() throws Exception {
        cluster = ApiCluster.start();
        Files.createDirectories(SCREENSHOTS);
    }

    @AfterAll
    static void stop() throws Exception {
        cluster.close();
    }

    @BeforeEach
    void openBrowser() {
        ChromeOptions options = new ChromeOptions();
        options.setBinary(System.getenv().getOrDefault("PGCK_CHROMIUM", "/usr/bin/chromium"));
        options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,900");
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(Path.of(System.getenv().getOrDefault("PGCK_CHROMEDRIVER", "/usr/bin/chromedriver")).toFile())
                .usingAnyFreePort().build();
        browser = new ChromeDriver(service, options);
        wait = new WebDriverWait(browser, Duration.ofSeconds(20));
    }

    @AfterEach
    void closeBrowser() {
        browser.quit();
    }

    void signIn(String token) {
        browser.get("http://127.0.0.1:" + cluster.api.port() + "/");
        WebElement ns = wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("namespace")));
        ns.clear();
        ns.sendKeys(ApiCluster.NS);
        browser.findElement(By.id("token")).sendKeys(token);
        browser.findElement(By.id("signin-button")).click();
    }

    void screenshot(String name) throws Exception {
        Files.write(SCREENSHOTS.resolve(name + ".png"), ((TakesScreenshot) browser).getScreenshotAs(OutputType.BYTES));
    }

    WebElement row(String tag) {
        return wait.until(ExpectedConditions.visibilityOfElementLocated(By.cssSelector("tr.checkpoint[data-name='" + tag + "']")));
    }

    @Test
    void backUpNowGoesProvenAndShowsItsLedger() throws Exception {
        signIn(cluster.deployer);
        WebElement button = wait.until(ExpectedConditions.elementToBeClickable(By.cssSelector("button.backup[data-database='prod-api']")));
        assertEquals("system:serviceaccount:shop:deployer", browser.findElement(By.id("who")).getText());
        button.click();
        WebElement tag = wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("backup-tag")));
        assertTrue(tag.getAttribute("value").startsWith("manual-prod-api-"), tag.getAttribute("value"));
        tag.clear();
        tag.sendKeys("manual-1");
        browser.findElement(By.id("backup-go")).click();
        wait.until(ExpectedConditions.textToBePresentInElementLocated(By.cssSelector("tr.checkpoint[data-name='manual-1'] .phase"), "Proven"));
        row("manual-1").click();
        WebElement ledger = wait.until(ExpectedConditions.visibilityOfElementLocated(By.cssSelector("tr.ledger")));
        assertTrue(ledger.getText().contains("12 tables, 4200 rows"), ledger.getText());
        assertTrue(ledger.getText().contains("432.3 MB"), ledger.getText());
        assertTrue(ledger.getText().contains("Back up now, from the dashboard"), ledger.getText());
        Checkpoint c = cluster.admin.resources(Checkpoint.class).inNamespace(ApiCluster.NS).withName("manual-1").get();
        assertEquals("prod-api", c.getSpec().database);
        screenshot("dashboard-proven");
        browser.manage().window().setSize(new Dimension(390, 844));
        Thread.sleep(300);
        screenshot("dashboard-phone");
        assertTrue(browser.findElement(By.cssSelector("button.backup")).isDisplayed(), "the button stays usable on a phone-width screen");
    }

    @Test
    void aFailedCheckpointShowsItsMessage() throws Exception {
        signIn(cluster.deployer);
        wait.until(ExpectedConditions.elementToBeClickable(By.cssSelector("button.backup[data-database='prod-api']"))).click();
        WebElement tag = wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("backup-tag")));
        tag.clear();
        tag.sendKeys("fail-from-page");
        browser.findElement(By.id("backup-go")).click();
        wait.until(ExpectedConditions.textToBePresentInElementLocated(By.cssSelector("tr.checkpoint[data-name='fail-from-page'] .phase"), "Failed"));
        assertTrue(row("fail-from-page").getText().contains("check the password in Secret prod-api-conn"), row("fail-from-page").getText());
        screenshot("dashboard-failed");
    }

    @Test
    void aReadOnlyUserSeesTheButtonDisabledWithTheReason() throws Exception {
        signIn(cluster.reader);
        WebElement button = wait.until(ExpectedConditions.visibilityOfElementLocated(By.cssSelector("button.backup[data-database='prod-api']")));
        assertFalse(button.isEnabled());
        WebElement why = browser.findElement(By.cssSelector(".database[data-database='prod-api'] .why"));
        assertTrue(why.getText().contains("may not create checkpoints.pgcheckpoint.io in namespace shop"), why.getText());
        screenshot("dashboard-read-only");
    }

    @Test
    void aTokenTheClusterRefusesAndAForbiddenNamespaceAreSaidPlainly() throws Exception {
        signIn("not-a-token");
        WebElement error = wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("error")));
        assertTrue(error.getText().contains("did not accept"), error.getText());
        assertTrue(browser.findElement(By.id("signin")).isDisplayed());
        // a stranger signs in (the token is valid) but may list nothing: 403 named on the page
        signIn(cluster.stranger);
        wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("error"), "may not list"));
        screenshot("dashboard-forbidden");
    }
}
